/** Fixture: production code importing test/ (forbidden). */
import { fakeClock } from '../test/helper.js';

export const now = fakeClock;
