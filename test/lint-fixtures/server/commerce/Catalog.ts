/** Fixture: a commerce module. */
export const catalogName = 'catalog';
