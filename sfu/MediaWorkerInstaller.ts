/**
 * Gets the mediasoup worker binary where it is missing, for `flashcast start`: first
 * mediasoup's own prebuilt (the release tarball its npm install would download), else the
 * project's build (scripts/mediasoup-worker.sh), both into the project's cache, with progress
 * lines a person can follow. Never imports mediasoup: it runs before mediasoup is loaded.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, createWriteStream, existsSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { assetPath } from '../common/paths.js';
import { MEDIASOUP_VERSION, workerCachePath } from './workerBin.js';

/** Where mediasoup publishes its prebuilt workers (its package.json repository + /releases/download). */
export const MEDIASOUP_RELEASES = 'https://github.com/versatica/mediasoup/releases/download';

/** The exit code of a mediasoup worker started without its channel (mediasoup's own check that it runs here). */
const WORKER_SELF_CHECK_EXIT = 41;

export interface MediaWorkerInstallerOptions {
  /** Progress and outcome lines, for a person. */
  progress: (line: string) => void;
  /** Where the worker goes; default the project's cache (workerCachePath). */
  target?: string;
  /** Base URL of the prebuilt tarballs; default $MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL (mediasoup's variable), else its GitHub releases. */
  prebuiltBaseUrl?: string;
  /** No answer (headers, or the next bytes) for this long: the download is given up. */
  stallTimeoutMs?: number;
  /** The project's build script; default scripts/mediasoup-worker.sh. */
  buildScript?: string;
  env?: NodeJS.ProcessEnv;
}

/** Neither way to get the worker worked; the message says what each tried and what to do. */
export class MediaWorkerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaWorkerUnavailableError';
  }
}

/** Fetches or builds the mediasoup worker into the cache. */
export class MediaWorkerInstaller {
  readonly #options: MediaWorkerInstallerOptions;
  readonly #env: NodeJS.ProcessEnv;
  readonly target: string;

  constructor(options: MediaWorkerInstallerOptions) {
    this.#options = options;
    this.#env = options.env ?? process.env;
    this.target = options.target ?? workerCachePath(this.#env);
  }

  /**
   * mediasoup's prebuilt tarball URL, as its npm-scripts.mjs builds it:
   * `<base>/<version>/mediasoup-worker-<version>-<platform>-<arch>[-kernel<major>].tgz`
   * (on Linux the kernel's major version, since kernels ≥ 6 get io_uring).
   */
  static prebuiltUrl(base: string, version = MEDIASOUP_VERSION, os: { platform: string; arch: string; release: string } = { platform: platform(), arch: arch(), release: release() }): string {
    let name = `mediasoup-worker-${version}-${os.platform}-${os.arch}`;
    if (os.platform === 'linux') name += `-kernel${Number(os.release.split('.')[0])}`;
    return `${base.replace(/\/$/, '')}/${version}/${name}.tgz`;
  }

  /** The prebuilt's URL for this machine. */
  get prebuiltUrl(): string {
    const base = this.#options.prebuiltBaseUrl ?? this.#env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL ?? MEDIASOUP_RELEASES;
    return MediaWorkerInstaller.prebuiltUrl(base);
  }

  /**
   * A worker already on this machine, in the order mediasoup will look (see workerBin.ts):
   * $MEDIASOUP_WORKER_BIN (which must then exist), the cache, mediasoup's own prebuilt in
   * node_modules. Null when there is none.
   */
  find(): string | null {
    const explicit = this.#env.MEDIASOUP_WORKER_BIN;
    if (explicit) {
      if (!existsSync(explicit)) throw new MediaWorkerUnavailableError(`MEDIASOUP_WORKER_BIN=${explicit}: no such file (unset it to let flashcast fetch or build the worker)`);
      return explicit;
    }
    if (existsSync(this.target)) return this.target;
    const mediasoupRoot = join(dirname(createRequire(import.meta.url).resolve('mediasoup')), '..', '..');
    const prebuilt = join(mediasoupRoot, 'worker', 'out', 'Release', 'mediasoup-worker');
    return existsSync(prebuilt) ? prebuilt : null;
  }

  /**
   * Gets the worker: the prebuilt, else the build. Resolves to its path in the cache; rejects
   * with MediaWorkerUnavailableError saying what failed and what to do.
   */
  async install(): Promise<string> {
    const { progress } = this.#options;
    progress(`live video needs the mediasoup ${MEDIASOUP_VERSION} worker binary, which is not on this machine yet.`);
    const downloaded = await this.download();
    if (downloaded.path) return downloaded.path;
    const built = await this.build();
    if (built.path) return built.path;
    throw new MediaWorkerUnavailableError(
      [
        'live video needs the mediasoup worker binary, and neither way to get it worked:',
        `  - mediasoup's prebuilt (${this.prebuiltUrl}): ${downloaded.failure}`,
        `  - the project's build (scripts/mediasoup-worker.sh): ${built.failure}`,
        'What to do:',
        '  - build it yourself and read what it says: bash scripts/mediasoup-worker.sh   (Debian; installs its build packages with apt-get)',
        `  - or point MEDIASOUP_WORKER_BIN at a mediasoup ${MEDIASOUP_VERSION} worker binary`,
        '  - or start without live video: FLASHCAST_VIDEO=off npm start',
      ].join('\n'),
    );
  }

  /** Downloads, unpacks, checks (it must run here) and installs mediasoup's prebuilt worker. */
  async download(): Promise<{ path?: string; failure: string }> {
    const { progress } = this.#options;
    const url = this.prebuiltUrl;
    progress(`1/2 fetching mediasoup's prebuilt worker: ${url}`);
    const work = mkdtempSync(join(tmpdir(), 'flashcast-worker-'));
    try {
      const tarball = join(work, 'worker.tgz');
      const failure = await this.#fetchTo(url, tarball);
      if (failure) {
        progress(`    not available: ${failure}`);
        return { failure };
      }
      const untar = spawnSync('tar', ['-xzf', tarball, '-C', work, '--no-same-owner'], { encoding: 'utf8' });
      const bin = join(work, 'mediasoup-worker');
      if (untar.status !== 0 || !existsSync(bin) || !lstatSync(bin).isFile()) {
        const why = `the tarball has no mediasoup-worker (${(untar.stderr ?? '').trim() || `tar exit ${untar.status}`})`;
        progress(`    ${why}`);
        return { failure: why };
      }
      chmodSync(bin, 0o755);
      const check = runsHere(bin);
      if (check) {
        progress(`    it does not run on this machine: ${check}`);
        return { failure: `downloaded, but it does not run here: ${check}` };
      }
      this.#installFile(bin, `mediasoup ${MEDIASOUP_VERSION} worker, mediasoup's prebuilt from ${url}, ${new Date().toISOString()}`);
      progress(`    installed ${this.target}`);
      return { path: this.target, failure: '' };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  /** Runs scripts/mediasoup-worker.sh (it builds into the same cache), its progress passed on. */
  async build(): Promise<{ path?: string; failure: string }> {
    const { progress } = this.#options;
    const script = this.#options.buildScript ?? assetPath(import.meta.url, '../scripts/mediasoup-worker.sh');
    progress(`2/2 building it with ${script} (once, then cached; 4-10 minutes on 2 cores)`);
    const env = { ...this.#env };
    delete env.MEDIASOUP_WORKER_BIN;
    const child = spawn('bash', [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let lastLine = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    createInterface({ input: child.stderr }).on('line', (line) => {
      lastLine = line.replace(/^mediasoup-worker:\s*/, '');
      progress(`    ${line}`);
    });
    const code = await new Promise<number>((resolve) => {
      child.once('error', (error) => {
        lastLine = `cannot run bash: ${error.message}`;
        resolve(-1);
      });
      child.once('close', (status) => resolve(status ?? -1));
    });
    const path = stdout.trim().split('\n').pop() ?? '';
    if (code === 0 && path && existsSync(path)) return { path, failure: '' };
    const failure = lastLine || `exit ${code}`;
    progress(`    the build failed: ${failure}`);
    return { failure };
  }

  /** Streams `url` to `file` with progress lines; resolves to a failure reason, or '' when done. */
  async #fetchTo(url: string, file: string): Promise<string> {
    const { progress } = this.#options;
    const stallMs = this.#options.stallTimeoutMs ?? 30_000;
    const controller = new AbortController();
    let timer = setTimeout(() => controller.abort(), stallMs);
    const alive = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), stallMs);
    };
    try {
      const res = await fetch(url, { signal: controller.signal, redirect: 'follow' });
      if (res.status === 404) return 'no prebuilt for this platform and version (404)';
      if (!res.ok || !res.body) return `HTTP ${res.status}`;
      const total = Number(res.headers.get('content-length') ?? 0);
      let received = 0;
      let nextReport = 0.1;
      const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
      body.on('data', (chunk: Buffer) => {
        alive();
        received += chunk.length;
        if (total > 0 && received / total >= nextReport) {
          progress(`    ${mb(received)} of ${mb(total)} (${Math.floor((received / total) * 100)}%)`);
          nextReport = Math.floor((received / total) * 10) / 10 + 0.1;
        }
      });
      await pipeline(body, createWriteStream(file));
      if (total === 0) progress(`    ${mb(received)}`);
      return '';
    } catch (error) {
      if (controller.signal.aborted) return `no answer for ${stallMs / 1000} s`;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return `not reachable (${cause?.code ?? cause?.message ?? (error as Error).message})`;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Copies `bin` into the cache under a temporary name, then renames it: readers never see half a file. */
  #installFile(bin: string, info: string): void {
    const dir = dirname(this.target);
    mkdirSync(dir, { recursive: true });
    const partial = join(dir, `.mediasoup-worker.${process.pid}`);
    copyFileSync(bin, partial);
    chmodSync(partial, 0o755);
    renameSync(partial, this.target);
    writeFileSync(join(dir, 'BUILD-INFO'), `${info}\n`);
  }
}

/** '' when the worker runs on this machine (mediasoup's check: exit 41 without its channel), else why not. */
function runsHere(bin: string): string {
  const run = spawnSync(bin, [], { env: {}, stdio: 'ignore', timeout: 10_000 });
  if (run.error) return run.error.message;
  if (run.status === WORKER_SELF_CHECK_EXIT) return '';
  return run.signal ? `killed by ${run.signal}` : `exit ${run.status}`;
}

function mb(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}
