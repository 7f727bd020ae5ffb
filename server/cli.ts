#!/usr/bin/env node
/**
 * The `flashcast` command: start (everything on one machine), gateway, worker and sfu (one
 * production process each), settlement (poison jobs), token (mint a JWT for trying things
 * out), dev-cert (a self-signed certificate for a LAN), doctor (check the machine). Every
 * command answers --help; an unknown option prints its usage and exits 2.
 */
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TokenService } from '../common/auth/TokenService.js';
import { GracefulShutdown } from '../common/GracefulShutdown.js';
import { logger } from '../common/logger.js';
import { devSecretBanner, loadConfig, type Config } from '../common/config.js';
import { RedisConnections } from '../common/RedisConnections.js';
import type { GatewayNode, GatewayNodeOptions } from './GatewayNode.js';
import { lanAddress, lanMedia } from './lanAddress.js';

const log = logger('cli');

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

interface Command {
  /** One line for `flashcast --help`. */
  summary: string;
  /** The command's own help: usage line, what it does, its options. */
  help: string;
  options?: Options;
  /** Positional arguments allowed (settlement's sub-commands). */
  positionals?: boolean;
  run(values: Values, positionals: string[]): Promise<number>;
}

const CONFIG_NOTE = 'Configuration comes from the environment: see README.md "Configuration".';

const COMMANDS: Record<string, Command> = {
  start: {
    summary: 'run the whole system on this machine (the quick start)',
    help: `usage: flashcast start

Runs everything in one process: the gateway (WebSocket, HTTP API and the web pages on PORT,
8080), commerce (PostgreSQL at DATABASE_URL, else embedded PGlite), the settlement workers,
live video (mediasoup), and a private redis-server when REDIS_URL is unset. Prints the page
URLs, the WHIP URL and a host token for room "demo".

Live video is on: when the mediasoup worker binary is missing, it is fetched (mediasoup's
prebuilt) or built (scripts/mediasoup-worker.sh) first, with progress; if neither works it
exits with what to do. FLASHCAST_VIDEO=off starts without video.
Without FLASHCAST_JWT_SECRET it runs in development mode (a public secret; it says so).

options:
  -h, --help   this help

${CONFIG_NOTE}`,
    run: () => start(),
  },
  gateway: {
    summary: 'one gateway node (WebSocket, HTTP API, web pages)',
    help: `usage: flashcast gateway

One gateway node: WebSocket /ws, the HTTP API and the web pages on PORT. REDIS_URL or REDIS_CLUSTER_NODES (an embedded
redis-server when unset); with DATABASE_URL it also serves the commerce API (catalog, deals,
checkout); FLASHCAST_SFU=in-process|remote for live video. Prints one JSON line when listening.

options:
  -h, --help   this help

${CONFIG_NOTE}`,
    run: () => gateway(),
  },
  worker: {
    summary: 'settlement workers (payments, orders, commissions, refunds, merchant webhooks)',
    help: `usage: flashcast worker

Settlement workers: payments, durable orders, commissions, refunds and merchant webhooks, from
the BullMQ queues in REDIS_URL, into DATABASE_URL. Run as many as payments need.

options:
  -h, --help   this help

${CONFIG_NOTE}`,
    run: async () => {
      const shutdown = GracefulShutdown.install(log);
      const config = loadConfig();
      warnIfDevSecret(config);
      const { runSettlementWorker } = await import('./settlement/main.js');
      await runSettlementWorker(config, shutdown);
      return -1;
    },
  },
  sfu: {
    summary: 'a media node (mediasoup workers, WHIP, /metrics), reached by gateways through Redis',
    help: `usage: flashcast sfu

A media node: one mediasoup worker per core, WHIP and /metrics on FLASHCAST_SFU_HTTP_HOST:PORT;
gateways with FLASHCAST_SFU=remote reach it through REDIS_URL. Prints one JSON line when ready.

options:
  -h, --help   this help

${CONFIG_NOTE}`,
    run: async () => {
      const shutdown = GracefulShutdown.install(log);
      const config = loadConfig();
      warnIfDevSecret(config);
      const { runSfuProcess } = await import('../sfu/main.js');
      await runSfuProcess(config, shutdown);
      process.stdout.write(`${JSON.stringify({ event: 'sfu-ready', nodeId: config.sfuNodeId })}\n`);
      return -1;
    },
  },
  settlement: {
    summary: 'list and replay poison settlement jobs',
    help: `usage: flashcast settlement failed [queue]
       flashcast settlement replay <jobId> [queue]

failed   lists the jobs that failed for good (JSON)
replay   moves a failed job back to its queue (idempotent: a replay never charges twice)
queue    settle (default), commission or refund

options:
  -h, --help   this help

${CONFIG_NOTE}`,
    positionals: true,
    run: (_values, args) => settlement(args),
  },
  token: {
    summary: 'mint a token for trying things out',
    help: `usage: flashcast token --user <id> [--role viewer|host|moderator|seller|ops] [--room <id>]... [--name <text>] [--region <CC>] [--ttl <seconds>]

Mints a JWT signed with FLASHCAST_JWT_SECRET (the development secret only with FLASHCAST_DEV=1)
and prints it.

options:
  --user <id>        the user id (required)
  --role <role>      viewer (default), host, moderator, seller or ops
  --room <id>        a room the token is for; repeat for several (hosts and moderators)
  --name <text>      the display name
  --region <CC>      the buyer's region (ISO country code)
  --ttl <seconds>    validity, default 86400
  -h, --help         this help`,
    options: {
      user: { type: 'string' },
      role: { type: 'string', default: 'viewer' },
      room: { type: 'string', multiple: true },
      name: { type: 'string' },
      region: { type: 'string' },
      ttl: { type: 'string', default: '86400' },
    },
    run: (values) => token(values),
  },
  'dev-cert': {
    summary: 'a self-signed certificate for HTTPS on your LAN (phones need it for the camera)',
    help: `usage: flashcast dev-cert [--out <dir>] [--host <name-or-ip>]...

Makes a self-signed certificate (openssl) for localhost, 127.0.0.1, this machine's LAN address
and every --host, writes cert.pem and key.pem, and prints the two variables that turn on HTTPS
and WSS (FLASHCAST_TLS_CERT, FLASHCAST_TLS_KEY). For testing only: each browser must accept it
once (a warning page); see README.md "Phones on your network".

options:
  --out <dir>              where to write, default $FLASHCAST_DATA_DIR/tls (./data/tls)
  --host <name-or-ip>      another name or IP the certificate is for; repeat for several
  -h, --help               this help`,
    options: { out: { type: 'string' }, host: { type: 'string', multiple: true } },
    run: (values) => devCert(values),
  },
  doctor: {
    summary: 'check Redis, PostgreSQL, the uWebSockets.js binary, the media worker, Chromium',
    help: `usage: flashcast doctor

Checks what Flashcast needs on this machine and says how to fix what is missing.

options:
  -h, --help   this help

${CONFIG_NOTE}`,
    run: async () => {
      const { runDoctor } = await import('./Doctor.js');
      // The doctor reports a missing secret as a finding instead of refusing to look.
      return runDoctor(loadConfig({ ...process.env, FLASHCAST_DEV: '1' }));
    },
  },
};

const USAGE = `usage: flashcast <command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(11)}${c.summary}`)
  .join('\n')}
  help       this list; \`flashcast help <command>\` or \`flashcast <command> --help\` for one

${CONFIG_NOTE}`;

/** Prints the development-secret banner when a process runs on it (dev mode only). */
function warnIfDevSecret(config: Config): void {
  if (config.usingDevSecret) process.stderr.write(devSecretBanner());
}

async function redisFor(config: Config, shutdown: GracefulShutdown): Promise<string> {
  if (config.redisUrl) return config.redisUrl;
  const { RedisServer } = await import('./redis/RedisServer.js');
  const server = await RedisServer.create({ dir: join(config.dataDir, 'redis') });
  shutdown.add('redis-server', () => server.close());
  log.info({ url: server.url }, 'REDIS_URL unset: started a private redis-server');
  return server.url;
}

async function startGateway(config: Config, shutdown: GracefulShutdown, options: GatewayNodeOptions): Promise<GatewayNode> {
  try {
    const redisUrl = await redisFor(config, shutdown);
    // Loaded here, after `start` has pointed MEDIASOUP_WORKER_BIN at the worker: mediasoup reads it when it loads.
    const { GatewayNode } = await import('./GatewayNode.js');
    const node = await GatewayNode.create(config, redisUrl, options);
    shutdown.add('gateway', () => node.close());
    return node;
  } catch (error) {
    // E.g. the port is taken: stop what was started (the embedded Redis) before exiting.
    await shutdown.close();
    throw error;
  }
}

/**
 * `flashcast start`: dev mode without a secret, the media worker made available (or a clear
 * exit), media announced on the LAN, then everything in one process, and the banner.
 */
async function start(): Promise<number> {
  // The quick start: without a secret it runs in dev mode (public development secret, loud
  // banner). Every other command refuses to run without one.
  const loaded = loadConfig(process.env.FLASHCAST_JWT_SECRET ? process.env : { ...process.env, FLASHCAST_DEV: '1' });
  warnIfDevSecret(loaded);
  let workerPath: string | null = null;
  if (loaded.video) {
    const { MediaWorkerInstaller, MediaWorkerUnavailableError } = await import('../sfu/MediaWorkerInstaller.js');
    const installer = new MediaWorkerInstaller({ progress: (line) => process.stderr.write(`flashcast: ${line}\n`) });
    try {
      workerPath = installer.find() ?? (await installer.install());
    } catch (error) {
      if (!(error instanceof MediaWorkerUnavailableError)) throw error;
      process.stderr.write(`flashcast: ${error.message}\n`);
      return 1;
    }
    process.env.MEDIASOUP_WORKER_BIN = workerPath;
  }
  const lan = lanAddress();
  const config: Config = { ...loaded, sfuMedia: { ...loaded.sfuMedia, ...lanMedia(loaded.host, loaded.sfuMedia, lan) } };
  const shutdown = GracefulShutdown.install(log);
  // Everything in one process: gateway, commerce on embedded PGlite unless DATABASE_URL is
  // set, the settlement workers and the SFU.
  const node = await startGateway(config, shutdown, { commerce: true, settlement: true, sfu: workerPath ? 'in-process' : false });
  const host = await new TokenService(config.jwtSecret).mint({ sub: 'host1', role: 'host', rooms: ['demo'], name: 'Host' });
  process.stdout.write(banner({ config, node, lan, workerPath, hostToken: host }));
  return -1;
}

/** What `flashcast start` prints once everything runs. */
function banner(o: { config: Config; node: GatewayNode; lan: string | undefined; workerPath: string | null; hostToken: string }): string {
  const { config, node, lan, workerPath } = o;
  const secure = node.secure;
  const http = secure ? 'https' : 'http';
  const loopbackOnly = config.host === 'localhost' || config.host === '::1' || config.host.startsWith('127.');
  const local = config.publicUrl ?? `${http}://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${node.port}`;
  const onLan = !config.publicUrl && !loopbackOnly && lan ? `${http}://${lan}:${node.port}` : null;
  const ws = local.replace(/^http/, 'ws');
  const media = config.sfuMedia.announcedAddress ?? config.sfuMedia.listenIp ?? '127.0.0.1 (this machine only)';
  const video = workerPath
    ? `on (mediasoup worker ${workerPath}); media announced at ${media}`
    : 'off (FLASHCAST_VIDEO=off): no camera, no playback; the rest works';
  const more = config.usingDevSecret ? 'FLASHCAST_DEV=1 npx flashcast token' : 'npx flashcast token';
  const lines = [
    '',
    `Flashcast is running${config.usingDevSecret ? ' in development mode (see the warning above)' : ''}.`,
    '',
    `  Watch:    ${local}/watch/?room=demo`,
    ...(onLan ? [`            ${onLan}/watch/?room=demo   (phones and laptops on this network)`] : []),
    `  Studio:   ${local}/studio/${onLan && !secure ? '   (on a phone the camera needs HTTPS: npx flashcast dev-cert)' : ''}`,
    `  Ops:      ${local}/ops/`,
    `  Embed:    <script type="module" src="${local}/embed/flashcast-live.js"></script><flashcast-live room="demo"></flashcast-live>`,
    `  API:      ${local}/v1/...   (contract: ${local}/openapi.json, ${local}/docs)`,
    `  WS:       ${ws}/ws?token=<jwt>`,
    `  WHIP:     ${local}/whip/demo   (OBS: service WHIP, this URL, a host token as the bearer token)`,
    `  Video:    ${video}`,
    ...(node.pagesServed ? [] : ['  Pages:    not built: run `npm run build` (npm start does)']),
    `  Health:   ${local}/readyz`,
    `  A host token for room "demo": ${o.hostToken}`,
    `  More tokens: ${more} --user u1 --role viewer`,
    '',
    '',
  ];
  return lines.join('\n');
}

async function gateway(): Promise<number> {
  const config = loadConfig();
  const shutdown = GracefulShutdown.install(log);
  warnIfDevSecret(config);
  const commerce = Boolean(config.databaseUrl) && config.commerce;
  const node = await startGateway(config, shutdown, { commerce, sfu: config.sfu });
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: node.port, nodeId: node.nodeId })}\n`);
  return -1;
}

async function settlement(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!((sub === 'failed' && rest.length <= 1) || (sub === 'replay' && rest.length >= 1 && rest.length <= 2))) {
    process.stderr.write(`${COMMANDS.settlement.help}\n`);
    return 2;
  }
  const config = loadConfig();
  const queue = RedisConnections.queue(config.redisUrl ?? 'redis://127.0.0.1:6379', 'fc-cli');
  const prefix = `${config.redisPrefix}:bull`;
  const { listFailedJobs, replayFailedJob } = await import('./settlement/ops.js');
  type QueueName = Parameters<typeof listFailedJobs>[2];
  try {
    if (sub === 'failed') {
      const jobs = await listFailedJobs(queue.connection, prefix, (rest[0] ?? 'settle') as QueueName);
      process.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
      return 0;
    }
    await replayFailedJob(queue.connection, prefix, rest[0], (rest[1] ?? 'settle') as QueueName);
    process.stdout.write(`replayed ${rest[0]}\n`);
    return 0;
  } finally {
    await queue.close();
  }
}

async function token(values: Values): Promise<number> {
  if (typeof values.user !== 'string') {
    process.stderr.write(`flashcast token: --user is required\n${COMMANDS.token.help}\n`);
    return 2;
  }
  // Refuses the development secret unless FLASHCAST_DEV=1, like every process.
  const config = loadConfig();
  const minted = await new TokenService(config.jwtSecret).mint({
    sub: values.user,
    role: values.role as 'viewer',
    rooms: values.room as string[] | undefined,
    name: values.name as string | undefined,
    region: values.region as string | undefined,
    ttlSeconds: Number(values.ttl),
  });
  process.stdout.write(`${minted}\n`);
  return 0;
}

async function devCert(values: Values): Promise<number> {
  const { makeDevCert } = await import('./devCert.js');
  // The configuration is read only for the default folder (FLASHCAST_DATA_DIR).
  const outDir = resolve((values.out as string | undefined) ?? join(loadConfig({ ...process.env, FLASHCAST_DEV: '1' }).dataDir, 'tls'));
  const lan = lanAddress();
  const names = ['localhost', '127.0.0.1', ...(lan ? [lan] : []), ...((values.host as string[] | undefined) ?? [])];
  const cert = makeDevCert({ outDir, names });
  process.stdout.write(
    [
      `Wrote ${cert.certFile} and ${cert.keyFile}, for ${cert.names.join(', ')} (self-signed, for testing only).`,
      'Turn on HTTPS and WSS with:',
      `  export FLASHCAST_TLS_CERT=${cert.certFile}`,
      `  export FLASHCAST_TLS_KEY=${cert.keyFile}`,
      `then npm start, and open ${lan ? `https://${lan}:8080/` : 'https://127.0.0.1:8080/'} on the phone: accept the warning once`,
      '(Chrome: Advanced → Proceed; Safari: Show Details → visit this website).',
      '',
    ].join('\n'),
  );
  return 0;
}

/** Parses a command's options (strict: an unknown one is a usage error) and runs it. */
async function runCommand(name: string, command: Command, args: string[]): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.positionals === true,
      strict: true,
    }) as { values: Values; positionals: string[] };
  } catch (error) {
    process.stderr.write(`flashcast ${name}: ${(error as Error).message}\n\n${command.help}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  return command.run(parsed.values, parsed.positionals);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const topic = rest[0] !== undefined ? COMMANDS[rest[0]] : undefined;
    if (rest[0] !== undefined && !topic) {
      process.stderr.write(`unknown command ${rest[0]}\n${USAGE}\n`);
      return 2;
    }
    process.stdout.write(`${topic ? topic.help : USAGE}\n`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`unknown command ${name}\n${USAGE}\n`);
    return 2;
  }
  return runCommand(name, command, rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`flashcast: ${(error as Error).message}\n`);
    process.exit(1);
  },
);

