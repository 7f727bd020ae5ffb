/** Fixture: a composition root (server/ top level) may import sfu/, commerce and settlement. */
import { sfuVersion } from '../sfu/Clean.js';
import { catalogName } from './commerce/Catalog.js';
import { jobName } from './settlement/Job.js';

export const parts = [sfuVersion, catalogName, jobName];
