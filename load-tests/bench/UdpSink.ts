import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Binds a UDP socket with the smallest receive buffer, prints its port, and never reads it. */
const SINK_SCRIPT = [
  'import socket, sys, time',
  's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
  's.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)',
  's.bind(("127.0.0.1", 0))',
  'print(s.getsockname()[1], flush=True)',
  'sys.stdin.read()',
].join('\n');

/**
 * A UDP destination that counts what arrives without reading it: a socket nobody reads
 * (in a small python3 process, so that no event loop of ours drains it) whose full receive
 * queue makes the kernel drop, and count, every packet. `arrived()` reads that count from
 * /proc/net/udp at once, so a window's packets are counted at its edges however many
 * senders there are, and receiving costs no CPU that the measurement would see.
 */
export class UdpSink {
  readonly port: number;
  readonly #child: ChildProcess;
  /** Its local_address as /proc/net/udp writes it (127.0.0.1, little-endian hex, then the port). */
  readonly #local: string;
  #closed = false;

  private constructor(child: ChildProcess, port: number) {
    this.#child = child;
    this.port = port;
    this.#local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  }

  /** Starts the sink; needs python3 and Linux's /proc/net/udp. */
  static async create(): Promise<UdpSink> {
    const child = spawn('python3', ['-c', SINK_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('UdpSink: python3 printed no port within 10 s')), 10_000);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`UdpSink: python3 could not start: ${error.message}`));
      });
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (!out.includes('\n')) return;
        clearTimeout(timer);
        resolve(Number(out.trim()));
      });
    });
    return new UdpSink(child, port);
  }

  /**
   * Packets that reached the socket so far: those the kernel dropped (the queue, at the
   * kernel's minimum size, is full after the first packet or two) plus one if any is queued.
   */
  arrived(): number {
    for (const row of readFileSync('/proc/net/udp', 'utf8').split('\n')) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
      const fields = row.trim().split(/\s+/);
      if (fields[1] !== this.#local) continue;
      const queuedBytes = parseInt(fields[4].split(':')[1], 16);
      return Number(fields[12]) + (queuedBytes > 0 ? 1 : 0);
    }
    throw new Error(`UdpSink: port ${this.port} is not in /proc/net/udp`);
  }

  /** Stops the sink process. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#child.stdin?.end();
    this.#child.kill();
  }
}
