import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Config } from '../common/config.js';
import { RedisConnections } from '../common/RedisConnections.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** How to fix it, when not ok. */
  fix?: string;
  /** Not needed to run; only for some features or tests. */
  optional?: boolean;
}

const root = new URL('../..', import.meta.url).pathname.replace(/dist\/$/, '');

function which(binary: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function checkRedis(config: Config): Promise<Check> {
  if (!config.redisUrl) {
    const bin = which('redis-server');
    return bin
      ? { name: 'Redis', ok: true, detail: `REDIS_URL unset; will start ${bin} privately (data in ${config.dataDir}/redis)` }
      : { name: 'Redis', ok: false, detail: 'REDIS_URL unset and no redis-server binary', fix: 'apt-get update && apt-get install -y redis-server   (or set REDIS_URL)' };
  }
  const cluster = RedisConnections.isCluster(config.redisUrl);
  const redis = RedisConnections.command(config.redisUrl, 'fc-doctor', { lazyConnect: true, maxRetriesPerRequest: 0 });
  redis.on('error', () => undefined);
  try {
    await Promise.race([redis.connect(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000).unref())]);
    const info = await RedisConnections.masters(redis)[0].info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    const major = Number(version.split('.')[0]);
    if (major < 7) return { name: 'Redis', ok: false, detail: `Redis ${version} at ${config.redisUrl}`, fix: 'Redis 7+ is needed (sharded pub/sub)' };
    if (cluster) {
      const state = /cluster_state:(\S+)/.exec(String(await redis.cluster('INFO')))?.[1] ?? '?';
      const masters = RedisConnections.masters(redis).length;
      if (state !== 'ok') return { name: 'Redis', ok: false, detail: `Redis Cluster ${version} at ${config.redisUrl}: cluster_state ${state}`, fix: 'check the cluster (redis-cli --cluster check host:port)' };
      return { name: 'Redis', ok: true, detail: `Redis Cluster ${version}, ${masters} masters, at ${config.redisUrl}` };
    }
    return { name: 'Redis', ok: true, detail: `Redis ${version} at ${config.redisUrl}` };
  } catch (error) {
    return { name: 'Redis', ok: false, detail: `cannot reach ${config.redisUrl}: ${(error as Error).message}`, fix: 'start Redis (redis-server --daemonize yes) or fix REDIS_URL / REDIS_CLUSTER_NODES' };
  } finally {
    redis.disconnect();
  }
}

async function checkPostgres(config: Config): Promise<Check> {
  const require = createRequire(import.meta.url);
  if (!config.databaseUrl) {
    try {
      require.resolve('@electric-sql/pglite');
      return { name: 'PostgreSQL', ok: true, detail: `DATABASE_URL unset; embedded PGlite (data in ${config.dataDir}/pglite)` };
    } catch {
      return { name: 'PostgreSQL', ok: false, detail: 'DATABASE_URL unset and @electric-sql/pglite missing', fix: 'npm install' };
    }
  }
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: config.databaseUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return { name: 'PostgreSQL', ok: true, detail: `PostgreSQL ${rows[0].server_version}` };
  } catch (error) {
    return {
      name: 'PostgreSQL',
      ok: false,
      detail: `cannot reach DATABASE_URL: ${(error as Error).message}`,
      fix: 'apt-get install -y postgresql && pg_ctlcluster 15 main start   (or unset DATABASE_URL for embedded PGlite)',
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkUws(): Promise<Check> {
  try {
    await import('uWebSockets.js');
    return { name: 'uWebSockets.js', ok: true, detail: `binary loads on Node ${process.versions.node}` };
  } catch (error) {
    return {
      name: 'uWebSockets.js',
      ok: false,
      detail: (error as Error).message.split('\n')[0],
      fix: 'npm install (package.json aliases uWebSockets.js to @trufflesuite/uws-js-unofficial@20.30.0-unofficial.0; needs glibc >= 2.31, Node 20)',
    };
  }
}

function checkMediaWorker(): Check {
  const script = join(root, 'scripts', 'mediasoup-worker.sh');
  if (process.env.MEDIASOUP_WORKER_BIN && existsSync(process.env.MEDIASOUP_WORKER_BIN)) {
    return { name: 'mediasoup worker', ok: true, detail: process.env.MEDIASOUP_WORKER_BIN };
  }
  if (!existsSync(script)) return { name: 'mediasoup worker', ok: false, detail: 'scripts/mediasoup-worker.sh missing', optional: true };
  const r = spawnSync('bash', [script, '--print'], { encoding: 'utf8' });
  const path = r.stdout.trim().split('\n').pop() ?? '';
  return r.status === 0 && path
    ? { name: 'mediasoup worker', ok: true, detail: path }
    : { name: 'mediasoup worker', ok: false, detail: 'not built yet', fix: 'bash scripts/mediasoup-worker.sh   (builds and caches it, ~4 min)', optional: true };
}

function checkSecret(config: Config): Check {
  if (!config.usingDevSecret) return { name: 'JWT secret', ok: true, detail: 'FLASHCAST_JWT_SECRET is set' };
  return {
    name: 'JWT secret',
    ok: false,
    detail: 'FLASHCAST_JWT_SECRET unset: only `flashcast start` runs (dev mode); gateway, worker, sfu and token refuse',
    fix: 'export FLASHCAST_JWT_SECRET="$(openssl rand -base64 32)"   (or FLASHCAST_DEV=1 on a development machine)',
    optional: true,
  };
}

function checkChromium(): Check {
  const bin = which('chromium');
  return bin
    ? { name: 'Chromium (browser tests)', ok: true, detail: bin, optional: true }
    : { name: 'Chromium (browser tests)', ok: false, detail: 'not installed', fix: 'apt-get install -y chromium', optional: true };
}

/** Prints each check, what is missing and how to install it. Exit code 1 if a required check fails. */
export async function runDoctor(config: Config): Promise<number> {
  const checks: Check[] = [
    { name: 'Node.js', ok: Number(process.versions.node.split('.')[0]) >= 20, detail: process.version, fix: 'Node 20 or newer' },
    await checkUws(),
    await checkRedis(config),
    await checkPostgres(config),
    checkSecret(config),
    checkMediaWorker(),
    checkChromium(),
  ];
  let failed = false;
  for (const c of checks) {
    const mark = c.ok ? 'ok  ' : c.optional ? 'warn' : 'FAIL';
    process.stdout.write(`${mark}  ${c.name.padEnd(26)} ${c.detail}\n`);
    if (!c.ok && c.fix) process.stdout.write(`      fix: ${c.fix}\n`);
    if (!c.ok && !c.optional) failed = true;
  }
  process.stdout.write(failed ? '\nSome required parts are missing (see fix lines).\n' : '\nAll required parts are present.\n');
  return failed ? 1 : 0;
}
