/** Fixture: commerce importing settlement (forbidden: settlement may use commerce, never the reverse). */
import { jobName } from '../settlement/Job.js';

export const queued = jobName;
