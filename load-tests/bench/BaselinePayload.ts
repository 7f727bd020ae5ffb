import { encodeServerFrame } from '../../protocol/index.js';
import { announcementText } from './EventScanner.js';

/**
 * Builds the bytes the baselines broadcast: a real Flashcast ServerFrame{event}
 * carrying the same announcement text, with its epoch padded so that the frame is
 * as large as the one Flashcast's gateway sent in the same run. Baseline viewers
 * then decode exactly what Flashcast viewers decode.
 */
export class BaselinePayload {
  readonly #room: string;
  readonly #textBytes: number;
  #epoch: string;

  constructor(room: string, textBytes: number, epochLength = 16) {
    this.#room = room;
    this.#textBytes = textBytes;
    this.#epoch = 'e'.repeat(epochLength);
  }

  /** Pads the epoch so frames are `frameBytes` long (the size measured on Flashcast). */
  matchFrameSize(frameBytes: number): void {
    this.#epoch = '';
    const base = this.encode(100_000).length;
    this.#epoch = 'e'.repeat(Math.max(0, Math.min(120, Math.round(frameBytes) - base)));
  }

  /** The frame for message `seq` (room offset seq + 1). */
  encode(seq: number): Uint8Array {
    return encodeServerFrame({
      v: 1,
      event: {
        room: this.#room,
        offset: seq + 1,
        epoch: this.#epoch,
        ts: Date.now(),
        announcement: { text: announcementText(seq, this.#textBytes), byUserId: 'h1' },
      },
    });
  }
}
