/** Fixture: the wire schema (imports nothing). */
export const WIRE_VERSION = 1;
