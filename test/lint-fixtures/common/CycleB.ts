/** Fixture: a runtime import cycle, CycleA <-> CycleB. */
import { a } from './CycleA.js';

export const b = (): number => (a.length > 0 ? 1 : 0);
