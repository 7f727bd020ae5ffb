/** Fixture: sfu/ reaching into server/ (forbidden). */
import { serverSecret } from '../server/Internal.js';

export const leaked = serverSecret;
