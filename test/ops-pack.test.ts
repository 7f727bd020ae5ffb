import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlashcastRequestError, type FlashcastClient } from '../client-sdk/index.js';
import { startGateway } from './helpers/InProcessGateway.js';
import { mint, sdkClient } from './helpers/clients.js';
import { waitFor } from './helpers/env.js';
import { metricValue } from './helpers/metrics.js';
import { parseYamlSubset, type YamlValue } from './helpers/yamlSubset.js';

/**
 * The ops pack (deploy/grafana/flashcast.json, deploy/prometheus/alerts.yml, docs/slos.md,
 * load-tests/slos.json) against what a real gateway exports: a gateway with commerce,
 * settlement and in-process mediasoup workers (the SFU gauges; a media node exports the same
 * ones), driven a little so labelled series exist. Every metric and label the dashboard and
 * the alerts read must be exported; the alert file must parse and carry each SLO's expression;
 * the SLO document must state each SLO's number.
 */
const root = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url));
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_ops_${randomBytes(6).toString('hex')}`;

interface Objective {
  id: string;
  threshold: number;
  unit: string;
  prometheus: { alert: string; expr: string; for: string } | null;
  rehearsal: { metric: string }[];
}
const objectives = (JSON.parse(readFileSync(root('load-tests/slos.json'), 'utf8')) as { objectives: Objective[] }).objectives;

let gw: Awaited<ReturnType<typeof startGateway>>;
const clients: FlashcastClient[] = [];
/** Exported metric names (histograms with their _bucket/_sum/_count series). */
const names = new Set<string>();
/** Label names seen on each metric's samples. */
const labels = new Map<string, Set<string>>();

/** Reads GET /metrics into `names` and `labels`. */
async function scrape(): Promise<void> {
  const text = await (await fetch(`${gw.http}/metrics`)).text();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      names.add(type[1]);
      if (type[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(type[1] + s);
      if (type[2] === 'summary') for (const s of ['_sum', '_count']) names.add(type[1] + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? /.exec(line);
    if (!sample) continue;
    const seen = labels.get(sample[1]) ?? new Set<string>();
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) seen.add(m[1]);
    labels.set(sample[1], seen);
  }
}

/** Labels Prometheus adds or PromQL makes, not exported by the process. */
const SCRAPE_LABELS = new Set(['instance', 'job', 'le']);

/** What a PromQL expression reads: each flashcast_* metric and the labels of its selector. */
function selectors(expr: string): { metric: string; labels: string[] }[] {
  const out: { metric: string; labels: string[] }[] = [];
  for (const m of expr.matchAll(/\b(flashcast_[a-zA-Z0-9_:]+)(\{([^}]*)\})?/g)) {
    out.push({ metric: m[1], labels: [...(m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((l) => l[1]) });
  }
  return out;
}

function expectExported(expr: string, where: string): void {
  const found = selectors(expr);
  expect(found.length, `${where}: no flashcast metric in ${expr}`).toBeGreaterThan(0);
  for (const s of found) {
    expect(names.has(s.metric), `${where}: ${s.metric} is not exported by GET /metrics`).toBe(true);
    const seen = labels.get(s.metric) ?? labels.get(`${s.metric}_bucket`);
    // A labelled metric with no sample yet (e.g. an SFU room gauge without rooms) has no labels to compare.
    if (!seen) continue;
    for (const label of s.labels) {
      if (!SCRAPE_LABELS.has(label)) expect(seen.has(label), `${where}: ${s.metric} has no label ${label} (has ${[...seen].join(', ')})`).toBe(true);
    }
  }
}

beforeAll(async () => {
  gw = await startGateway({ databaseUrl: PG_URL, databaseSchema: schema, sfuMedia: { workers: 1 } }, { commerce: true, settlement: true, sfu: 'in-process' });
  // Traffic, so that labelled series exist: a host announces (critical fan-out), a viewer taps
  // (a buy result) and chats in a room it did not join (an error reply).
  const room = 'ops-pack';
  const host = sdkClient(gw.url, await mint({ sub: 'ops-host', role: 'host', rooms: [room] }));
  const viewer = sdkClient(gw.url, await mint({ sub: 'ops-viewer', role: 'viewer' }));
  clients.push(host, viewer);
  await Promise.all([host.connect(), viewer.connect()]);
  const hostRoom = await host.join(room);
  const viewerRoom = await viewer.join(room);
  await hostRoom.announce('ops pack');
  const tap = await viewerRoom.buy({ productId: 'no-such-product', quantity: 1 }).catch((e: unknown) => e);
  expect(tap).toBeInstanceOf(FlashcastRequestError);
  await viewer.request({ chat: { room: 'not-joined', text: 'hi' } }).catch(() => undefined);
  await waitFor(async () => (await metricValue(gw.http, 'flashcast_buy_results_total', { code: (tap as FlashcastRequestError).code })) === 1, 5000, 'the tap counted');
  await scrape();
  await scrape(); // the SFU CPU gauge needs two scrapes
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.close();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe('ops pack', () => {
  it('a tap is counted by code and timed on /metrics', async () => {
    expect(await metricValue(gw.http, 'flashcast_buy_latency_seconds_count')).toBe(1);
    expect(names.has('flashcast_settlement_jobs')).toBe(true);
    expect(labels.get('flashcast_settlement_jobs')).toEqual(new Set(['queue', 'state']));
  });

  it('alerts.yml parses and reads only exported metrics and labels', () => {
    const doc = parseYamlSubset(readFileSync(root('deploy/prometheus/alerts.yml'), 'utf8')) as { groups: { name: string; rules: Record<string, YamlValue>[] }[] };
    expect(Array.isArray(doc.groups)).toBe(true);
    const alerts = new Set<string>();
    for (const group of doc.groups) {
      expect(typeof group.name).toBe('string');
      expect(group.rules.length).toBeGreaterThan(0);
      for (const rule of group.rules) {
        expect(Object.keys(rule).sort(), JSON.stringify(rule)).toEqual(['alert', 'annotations', 'expr', 'for', 'labels']);
        const alert = rule.alert as string;
        expect(alerts.has(alert), `duplicate alert ${alert}`).toBe(false);
        alerts.add(alert);
        expect(rule.for).toMatch(/^\d+[smh]$/);
        expect(typeof (rule.labels as Record<string, string>).severity).toBe('string');
        expect(typeof (rule.annotations as Record<string, string>).summary).toBe('string');
        expectExported(rule.expr as string, alert);
      }
    }
  });

  it('every SLO with a Prometheus binding is an alert with its expression, duration and number', () => {
    const doc = parseYamlSubset(readFileSync(root('deploy/prometheus/alerts.yml'), 'utf8')) as { groups: { rules: Record<string, YamlValue>[] }[] };
    const rules = doc.groups.flatMap((g) => g.rules);
    for (const o of objectives) {
      if (!o.prometheus) continue;
      const rule = rules.find((r) => r.alert === o.prometheus!.alert);
      expect(rule, `no alert ${o.prometheus.alert} for SLO ${o.id}`).toBeDefined();
      expect(rule!.expr, o.id).toBe(o.prometheus.expr);
      expect(rule!.for, o.id).toBe(o.prometheus.for);
      expect((rule!.labels as Record<string, string>).slo, o.id).toBe(o.id);
      // The alert fires past the SLO's own number (ms in the SLO, seconds in Prometheus).
      const bound = Number(/>\s*([0-9.e-]+)$/.exec(o.prometheus.expr)?.[1]);
      expect(bound, o.id).toBeCloseTo(o.unit === 'ms' ? o.threshold / 1000 : o.threshold, 9);
      expectExported(o.prometheus.expr, o.id);
    }
  });

  it('the Grafana dashboard reads only exported metrics and labels', () => {
    const dash = JSON.parse(readFileSync(root('deploy/grafana/flashcast.json'), 'utf8')) as {
      uid: string;
      panels: { id: number; type: string; title: string; gridPos: unknown; targets?: { expr: string; refId: string }[] }[];
      templating: { list: { name: string; query: string | { query: string } }[] };
    };
    expect(dash.uid).toBe('flashcast');
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const queries = dash.panels.filter((p) => p.type !== 'row');
    expect(queries.length).toBeGreaterThan(10);
    for (const p of queries) {
      expect(p.gridPos, p.title).toBeDefined();
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) expectExported(t.expr, `${p.title} (${t.refId})`);
    }
    for (const v of dash.templating.list) if (typeof v.query === 'object') expectExported(v.query.query, `variable ${v.name}`);
    // Every SLO with a Prometheus metric is on the dashboard.
    const exprs = queries.flatMap((p) => p.targets!.map((t) => t.expr)).join('\n');
    for (const o of objectives) {
      if (o.prometheus) for (const s of selectors(o.prometheus.expr)) expect(exprs, `${o.id} not on the dashboard`).toContain(s.metric);
    }
  });

  it('docs/slos.md states every SLO with its number and its metrics', () => {
    const doc = readFileSync(root('docs/slos.md'), 'utf8');
    for (const o of objectives) {
      const start = doc.indexOf(`<a id="${o.id}"></a>`);
      expect(start, `no section for ${o.id}`).toBeGreaterThanOrEqual(0);
      const next = doc.indexOf('<a id="', start + 1);
      const section = doc.slice(start, next < 0 ? undefined : next);
      const shown = o.unit === 'ms' && o.threshold >= 1000 ? `${o.threshold / 1000} s` : o.unit === 'ms' ? `${o.threshold} ms` : o.threshold < 1 && o.threshold > 0 ? `${o.threshold * 100}%` : `${o.threshold}`;
      expect(section, `${o.id} does not state ${shown}`).toContain(shown);
      for (const r of o.rehearsal) expect(section, `${o.id} does not name ${r.metric}`).toContain(r.metric);
      if (o.prometheus) {
        expect(section).toContain(o.prometheus.alert);
        for (const s of selectors(o.prometheus.expr)) expect(section, `${o.id} does not name ${s.metric}`).toContain(s.metric);
      }
    }
  });
});
