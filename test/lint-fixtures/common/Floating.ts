/** Fixture: a promise nobody awaits or catches. */
async function save(): Promise<void> {}

export function onClick(): void {
  save();
}
