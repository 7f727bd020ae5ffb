/** Fixture: a shared helper. */
export const shared = 'shared';
