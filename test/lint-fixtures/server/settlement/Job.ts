/** Fixture: a settlement module. */
export const jobName = 'settle';
