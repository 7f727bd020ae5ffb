/** Fixture: a server internal. */
export const serverSecret = 'internal';
