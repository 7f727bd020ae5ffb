/** Fixture: a runtime import cycle, CycleA <-> CycleB. */
import { b } from './CycleB.js';

export const a = (): number => b() + 1;
