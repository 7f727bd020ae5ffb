import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REDIS_URL } from './helpers/env.js';

const HARNESS = fileURLToPath(new URL('../dist/load-tests/harness/harness.js', import.meta.url));
const VIEWERS = 150;
const SECONDS = 4;
const BROADCAST_RATE = 10; // the harness default --rate
const ANNOUNCE_RATE = 2; // the harness default --announce-rate

/** The harness's last stdout line: `{ ok, scenarios: [ScenarioReport.toJSON()] }`. */
interface Summary {
  ok: boolean;
  scenarios: {
    scenario: string;
    ok: boolean;
    counters: Record<string, number>;
    checks: { name: string; ok: boolean }[];
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
 * The CI run of the load scenarios that ops run with k6 (load-tests/k6/): a real
 * gateway process, hundreds of viewers, a host, a chat storm. Asserts what the
 * harness promises, from its own summary: every scenario ran, every viewer joined
 * and received every critical message (none lost, none twice), and every check
 * (legal chat accepted, flooder limited, announcements acknowledged) passed.
 */
describe('load harness (the k6 scenarios, from Node)', () => {
  it('broadcast and chat-storm scenarios pass against a real gateway', async () => {
    const child = spawn(process.execPath, [HARNESS, '--viewers', String(VIEWERS), '--duration', String(SECONDS), '--chatters', '30'], {
      env: { ...process.env, REDIS_URL, LOG_LEVEL: 'warn' },
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
    expect(summary!.scenarios.map((s) => s.scenario)).toEqual(['broadcast', 'chat-storm']);
    const minAnnouncements = { broadcast: BROADCAST_RATE * SECONDS + 1, 'chat-storm': ANNOUNCE_RATE * SECONDS + 1 } as Record<string, number>;
    for (const s of summary!.scenarios) {
      const c = s.counters;
      const what = `${s.scenario}: ${JSON.stringify(s)}`;
      expect(s.failed, what).toEqual([]);
      expect(s.ok, what).toBe(true);
      expect(s.checks.length, what).toBeGreaterThanOrEqual(3);
      expect(s.checks.every((check) => check.ok), what).toBe(true);
      expect(s.checks.map((check) => check.name), what).toEqual(
        expect.arrayContaining(['all viewers joined', 'no critical message lost', 'no critical message duplicated', 'no viewer disconnected']),
      );
      expect(c.viewers_joined, what).toBe(VIEWERS);
      // Every announcement (and the final END) was acknowledged, and every viewer had to receive all of them.
      expect(c.announcements_acked, what).toBe(minAnnouncements[s.scenario]);
      expect(c.announcements_refused, what).toBe(0);
      expect(c.critical_expected, what).toBeGreaterThanOrEqual(VIEWERS * c.announcements_acked);
      expect(c.critical_received, what).toBeGreaterThanOrEqual(c.critical_expected);
      expect(c.critical_lost, what).toBe(0);
      expect(c.critical_duplicates, what).toBe(0);
    }
    const storm = summary!.scenarios.find((s) => s.scenario === 'chat-storm')!.counters;
    expect(storm.chat_sent).toBeGreaterThan(0);
    expect(storm.chat_accepted).toBeGreaterThanOrEqual(storm.chat_sent * 0.99);
    expect(storm.flood_sent).toBeGreaterThan(0);
  }, 120_000);
});
