/** Fixture: a server part importing sfu/ (forbidden: only the composition roots do). */
import { sfuVersion } from '../../sfu/Clean.js';

export const mediaVersion = sfuVersion;
