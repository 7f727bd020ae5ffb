/** Fixture: protocol/ importing common/ (forbidden: the wire schema imports nothing). */
import { shared } from '../common/Shared.js';

export const wireShared = shared;
