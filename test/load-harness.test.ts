import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REDIS_URL } from './helpers/env.js';

const HARNESS = fileURLToPath(new URL('../dist/load-tests/harness/harness.js', import.meta.url));
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const VIEWERS = 150;
const SECONDS = 4;
const BROADCAST_RATE = 10; // the harness default --rate
const ANNOUNCE_RATE = 2; // the harness default --announce-rate
const BUYERS = 30;
const STOCK = 12;

/** The harness's last stdout line: `{ ok, scenarios: [ScenarioReport.toJSON()] }`. */
interface Summary {
  ok: boolean;
  scenarios: {
    scenario: string;
    ok: boolean;
    counters: Record<string, number>;
    checks: { name: string; ok: boolean }[];
    slos: { id: string; threshold: string; ok: boolean; enforced: boolean }[];
    failed: string[];
  }[];
}

/** The summary line of the harness output, or null when it printed none. */
function summaryOf(stdout: string): Summary | null {
  const line = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .at(-1);
  return line ? (JSON.parse(line) as Summary) : null;
}

/**
 * The CI run of the load scenarios that ops run with k6 (load-tests/k6/): a real gateway
 * and settlement worker process, hundreds of viewers, a host, a chat storm, a flash sale
 * and the peak-event rehearsal (all three at once in one room). Asserts what the harness
 * promises, from its own summary: every scenario ran, every viewer joined and received
 * every critical message (none lost, none twice), every tap was answered, exactly the stock
 * was sold and paid, and every check and count SLO bound (load-tests/slos.json) passed.
 * Latency SLO bounds are reported, not asserted (no timed assertions).
 */
describe('load harness (the k6 scenarios, from Node)', () => {
  it('broadcast, chat-storm, flash-sale and rehearsal scenarios pass against a real gateway and worker', async () => {
    const args = ['--viewers', String(VIEWERS), '--duration', String(SECONDS), '--chatters', '30', '--buyers', String(BUYERS), '--stock', String(STOCK)];
    const child = spawn(process.execPath, [HARNESS, ...args, '--redis-url', REDIS_URL, '--database-url', PG_URL], {
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const output = `${stdout}\n${stderr}`;
    expect(code, output).toBe(0);
    const summary = summaryOf(stdout);
    expect(summary, `the harness printed no summary:\n${output}`).not.toBeNull();

    expect(summary!.ok, output).toBe(true);
    expect(summary!.scenarios.map((s) => s.scenario)).toEqual(['broadcast', 'chat-storm', 'flash-sale', 'rehearsal']);
    const announcements = { broadcast: BROADCAST_RATE * SECONDS + 1, 'chat-storm': ANNOUNCE_RATE * SECONDS + 1, rehearsal: BROADCAST_RATE * SECONDS + 1 } as Record<string, number>;
    for (const s of summary!.scenarios) {
      const c = s.counters;
      const what = `${s.scenario}: ${JSON.stringify(s)}`;
      expect(s.failed, what).toEqual([]);
      expect(s.ok, what).toBe(true);
      expect(s.checks.every((check) => check.ok), what).toBe(true);
      // Count bounds decide; latency bounds are reported (the rehearsal has every SLO).
      expect(s.slos.filter((slo) => slo.enforced).every((slo) => slo.ok), what).toBe(true);
      expect(c.unexpected_close ?? 0, what).toBe(0);
      if (s.scenario !== 'flash-sale') {
        expect(s.checks.map((check) => check.name), what).toEqual(
          expect.arrayContaining(['all viewers joined', 'every announcement acknowledged', 'every viewer received every announcement', 'every viewer saw END']),
        );
        expect(s.slos.map((slo) => slo.id), what).toEqual(expect.arrayContaining(['critical_latency_p99', 'critical_loss', 'viewer_disconnects']));
        // Every announcement (and the final END) was acknowledged, and every viewer had to receive all of them.
        expect(c.announce_acked, what).toBe(announcements[s.scenario]);
        expect(c.announce_refused, what).toBe(0);
        expect(c.critical_expected, what).toBeGreaterThanOrEqual(VIEWERS * c.announce_acked);
        expect(c.critical_received, what).toBeGreaterThanOrEqual(c.critical_expected);
        expect(c.critical_lost, what).toBe(0);
        expect(c.critical_duplicates, what).toBe(0);
      }
      if (s.scenario === 'flash-sale' || s.scenario === 'rehearsal') {
        expect(s.slos.map((slo) => slo.id), what).toEqual(expect.arrayContaining(['tap_latency_p99', 'tap_unavailable', 'no_oversell', 'paid_within']));
        // Every buyer tapped once and got an answer; exactly the stock was won, paid and is in PostgreSQL.
        expect(c.buy_taps, what).toBe(BUYERS);
        expect(c.buy_answered, what).toBe(BUYERS);
        expect(c.buy_ok, what).toBe(STOCK);
        expect(c.buy_sold_out, what).toBe(BUYERS - STOCK);
        expect(c.orders_paid_pushed, what).toBe(STOCK);
        expect(c.orders_paid, what).toBe(STOCK);
        expect(c.units_sold, what).toBe(STOCK);
      }
    }
    for (const name of ['chat-storm', 'rehearsal']) {
      const storm = summary!.scenarios.find((s) => s.scenario === name)!.counters;
      expect(storm.chat_sent, name).toBeGreaterThanOrEqual(30 * 2 * SECONDS);
      expect(storm.chat_accepted, name).toBeGreaterThanOrEqual(storm.chat_sent * 0.99);
      expect(storm.flood_sent, name).toBeGreaterThan(0);
    }
  }, 240_000);
});
