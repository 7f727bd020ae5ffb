/** Fixture: an allowed import (sfu/ -> protocol/); lint must report nothing here. */
import { WIRE_VERSION } from '../protocol/Wire.js';

export const sfuVersion = WIRE_VERSION;
