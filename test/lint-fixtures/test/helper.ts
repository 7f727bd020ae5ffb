/** Fixture: a test helper. */
export const fakeClock = () => 0;
