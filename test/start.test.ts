import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MediaWorkerInstaller } from '../sfu/MediaWorkerInstaller.js';
import { workerCachePath } from '../sfu/workerBin.js';
import { REDIS_URL, deletePrefix, uniquePrefix } from './helpers/env.js';

/**
 * `flashcast start`, the first five minutes, as a newcomer runs it (the compiled CLI in a child
 * process, on the shared Redis and PostgreSQL): the banner with the page, API, WS and WHIP URLs
 * and whether video is on; a missing media worker fetched from mediasoup's prebuilt URL scheme
 * (served here from a local server: GitHub is not reachable from tests) with progress and
 * installed into the cache; no quiet start without video when neither the prebuilt nor the
 * build works; FLASHCAST_VIDEO=off. No test waits for a build.
 */

const CLI = fileURLToPath(new URL('../dist/server/cli.js', import.meta.url));
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const WORKER = process.env.MEDIASOUP_WORKER_BIN && existsSync(process.env.MEDIASOUP_WORKER_BIN) ? process.env.MEDIASOUP_WORKER_BIN : workerCachePath();
const haveWorker = existsSync(WORKER);
const mediasoupPrebuilt = fileURLToPath(new URL('../node_modules/mediasoup/worker/out/Release/mediasoup-worker', import.meta.url));
const schemas: string[] = [];
const prefixes: string[] = [];
const dirs: string[] = [];

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

/** Spawns `flashcast start` on its own Redis prefix and PostgreSQL schema, MEDIASOUP_WORKER_BIN unset unless given. */
function startCli(env: Record<string, string | undefined>): Run {
  const schema = `t_start_${randomBytes(5).toString('hex')}`;
  const prefix = uniquePrefix('st');
  schemas.push(schema);
  prefixes.push(prefix);
  const base: Record<string, string | undefined> = { ...process.env };
  delete base.MEDIASOUP_WORKER_BIN;
  delete base.FLASHCAST_JWT_SECRET;
  const child = spawn(process.execPath, [CLI, 'start'], {
    env: {
      ...base,
      PORT: '0',
      HOST: '0.0.0.0',
      REDIS_URL,
      FLASHCAST_REDIS_PREFIX: prefix,
      DATABASE_URL: PG_URL,
      DATABASE_SCHEMA: schema,
      FLASHCAST_SFU_WORKERS: '1',
      LOG_LEVEL: 'warn',
      VITEST: '',
      ...env,
    } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = { child, stdout: '', stderr: '', exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  child.stdout!.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

/** Resolves with the banner once printed; rejects with the output if the process exits first. */
async function banner(run: Run, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!run.stdout.includes('More tokens:')) {
    if (run.child.exitCode !== null) throw new Error(`start exited ${run.child.exitCode}:\n${run.stdout}\n${run.stderr}`);
    if (Date.now() > deadline) throw new Error(`no banner:\n${run.stdout}\n${run.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return run.stdout;
}

async function stop(run: Run): Promise<number | null> {
  if (run.child.exitCode === null) run.child.kill('SIGTERM');
  return run.exited;
}

function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `fc-${name}-`));
  dirs.push(dir);
  return dir;
}

/** A local stand-in for mediasoup's release server: counts requests, serves what `files` holds. */
async function releaseServer(files: Record<string, Buffer>): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files[req.url ?? ''];
    if (!body) {
      res.writeHead(404).end('Not Found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

afterAll(async () => {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
  for (const prefix of prefixes) await deletePrefix(prefix);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('flashcast start', () => {
  it.skipIf(!haveWorker)('prints the pages, API, WS and WHIP URLs, video on, the announced IP and a host token; serves the pages', async () => {
    const run = startCli({ MEDIASOUP_WORKER_BIN: WORKER });
    try {
      const text = await banner(run);
      const port = /Watch: +http:\/\/127\.0\.0\.1:(\d+)\/watch\/\?room=demo/.exec(text)?.[1];
      expect(port, text).toBeDefined();
      const base = `http://127.0.0.1:${port}`;
      for (const line of [
        `Studio:   ${base}/studio/`,
        `Ops:      ${base}/ops/`,
        `<script type="module" src="${base}/embed/flashcast-live.js"></script><flashcast-live room="demo"></flashcast-live>`,
        `API:      ${base}/v1/`,
        `WS:       ws://127.0.0.1:${port}/ws?token=<jwt>`,
        `WHIP:     ${base}/whip/demo`,
        `Video:    on (mediasoup worker ${WORKER})`,
        'A host token for room "demo": ey',
      ]) {
        expect(text).toContain(line);
      }
      expect(text).toMatch(/media announced at (\d+\.\d+\.\d+\.\d+)/);
      expect(run.stderr).toContain('DEVELOPMENT MODE');
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const watch = await fetch(`${base}/watch/?room=demo`);
      // `npm test` builds the pages first; without them the banner says so and the page says how.
      if (text.includes('Pages:    not built')) expect(watch.status).toBe(404);
      else expect([watch.status, watch.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    } finally {
      expect(await stop(run)).toBe(0);
    }
  });

  it.skipIf(!haveWorker || existsSync(mediasoupPrebuilt))('fetches mediasoup\'s prebuilt worker when none is here, with progress, into the cache', async () => {
    // mediasoup's own tarball layout: the binary at the root of a .tgz, at <base>/<version>/<name>.
    const pack = tempDir('tgz');
    const tarball = join(pack, 'worker.tgz');
    expect(spawnSync('tar', ['-czf', tarball, '-C', dirname(WORKER), 'mediasoup-worker']).status).toBe(0);
    const path = new URL(MediaWorkerInstaller.prebuiltUrl('http://x')).pathname;
    const releases = await releaseServer({ [path]: readFileSync(tarball) });
    const cache = tempDir('cache');
    const run = startCli({ XDG_CACHE_HOME: cache, MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL: releases.url });
    try {
      const text = await banner(run);
      const installed = join(cache, 'flashcast', 'mediasoup-worker', '3.19.3', 'mediasoup-worker');
      expect(releases.requests).toEqual([path]);
      expect(run.stderr).toContain(`fetching mediasoup's prebuilt worker: ${releases.url}${path}`);
      expect(run.stderr).toMatch(/MB of \d+\.\d MB \(100%\)/);
      expect(run.stderr).toContain(`installed ${installed}`);
      expect(text).toContain(`Video:    on (mediasoup worker ${installed})`);
      expect(readFileSync(installed).equals(readFileSync(WORKER))).toBe(true);
    } finally {
      expect(await stop(run)).toBe(0);
      await releases.close();
    }
  });

  it('does not start quietly without video: no prebuilt and a failing build exit 1 with what to do', async () => {
    const releases = await releaseServer({});
    // A machine on which the build cannot run: only bash and the two tools the script needs
    // before it looks for npm (npm itself missing).
    const bin = tempDir('bin');
    for (const tool of ['bash', 'dirname', 'mkdir']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      symlinkSync(found, join(bin, tool));
    }
    const cache = tempDir('cache');
    mkdirSync(join(cache, 'flashcast'), { recursive: true });
    const run = startCli({ XDG_CACHE_HOME: cache, MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL: releases.url, PATH: bin });
    try {
      expect(await run.exited).toBe(1);
      expect(run.stdout).not.toContain('Flashcast is running');
      expect(run.stderr).toContain('no prebuilt for this platform and version (404)');
      expect(run.stderr).toContain('2/2 building it with');
      expect(run.stderr).toContain('npm not found');
      for (const advice of ['bash scripts/mediasoup-worker.sh', 'MEDIASOUP_WORKER_BIN', 'FLASHCAST_VIDEO=off npm start']) expect(run.stderr).toContain(advice);
    } finally {
      await stop(run);
      await releases.close();
    }
  });

  it('FLASHCAST_VIDEO=off starts without video, looks for no worker, and says so', async () => {
    const releases = await releaseServer({});
    const run = startCli({ FLASHCAST_VIDEO: 'off', XDG_CACHE_HOME: tempDir('cache'), MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL: releases.url });
    try {
      const text = await banner(run);
      expect(text).toContain('Video:    off (FLASHCAST_VIDEO=off)');
      expect(text).toContain('/whip/demo');
      expect(releases.requests).toEqual([]);
    } finally {
      expect(await stop(run)).toBe(0);
      await releases.close();
    }
  });
});
