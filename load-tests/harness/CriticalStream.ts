/**
 * One viewer's view of a room's critical stream: starting from the offset it joined
 * at, every critical event must carry the next offset. Counts what arrived, what
 * was skipped and what came twice, so loss is measured per viewer.
 */
export class CriticalStream {
  readonly baseOffset: number;
  lastOffset: number;
  received = 0;
  duplicates = 0;
  gapped = 0;

  constructor(baseOffset: number) {
    this.baseOffset = baseOffset;
    this.lastOffset = baseOffset;
  }

  /** Records a critical event's offset. */
  accept(offset: number): void {
    if (offset === this.lastOffset + 1) {
      this.received++;
      this.lastOffset = offset;
    } else if (offset <= this.lastOffset) {
      this.duplicates++;
    } else {
      this.gapped += offset - this.lastOffset - 1;
      this.received++;
      this.lastOffset = offset;
    }
  }

  /** Critical events up to and including `finalOffset` that never arrived. */
  lostUpTo(finalOffset: number): number {
    return Math.max(0, finalOffset - this.baseOffset - this.received);
  }
}
