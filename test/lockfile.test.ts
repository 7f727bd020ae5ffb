/**
 * `npm install` on a clean clone leaves package-lock.json unchanged, with the npm of Node 20
 * and 22 (npm 10) as with npm 11. These are the causes of a rewrite seen so far, checked
 * without the network (CI also runs `npm install` and fails on a changed lock: .ci/run).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  libc?: string[];
}

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as Record<string, Record<string, string> | undefined>;
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as { lockfileVersion: number; packages: Record<string, LockEntry> };

/**
 * Optional dependencies that are not on the npm registry: npm install skips them and records
 * nothing (so the lock is stable), while `npm ci` refuses the lock for them; CI uses npm install.
 */
const UNPUBLISHED_OPTIONAL = new Set([
  'napi-windows-process-start-time', // vite 8's optional Windows helper: 404 on registry.npmjs.org
]);

const REGENERATE = 'regenerate it with the npm of Node 20/22: `npx -y npm@10 install --package-lock-only --no-audit --no-fund`';

/** Where node (and npm) resolve `name` from the package at `path`: its own node_modules, then each parent's. */
function resolves(path: string, name: string): boolean {
  let dir = path;
  for (;;) {
    if (lock.packages[`${dir === '' ? '' : `${dir}/`}node_modules/${name}`]) return true;
    if (dir === '') return false;
    const at = dir.lastIndexOf('/node_modules/');
    dir = at < 0 ? '' : dir.slice(0, at);
  }
}

describe('package-lock.json', () => {
  it('is lockfile version 3', () => {
    expect(lock.lockfileVersion).toBe(3);
  });

  it('lists exactly the dependencies package.json declares', () => {
    const top = lock.packages[''];
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies'] as const) {
      expect(top[field] ?? {}, `${field} differ from package.json: ${REGENERATE}`).toEqual(pkg[field] ?? {});
    }
  });

  it('has no `libc` fields (npm 11 writes them, npm 10 removes them on every install)', () => {
    const withLibc = Object.entries(lock.packages).filter(([, entry]) => entry.libc !== undefined).map(([path]) => path);
    expect(withLibc, `entries with libc: ${REGENERATE}`).toEqual([]);
  });

  it('has an entry for every dependency, optional platform packages of other machines included', () => {
    const missing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path.length > 0 && !path.includes('node_modules/')) continue; // a link, not an installed package
      const optional = Object.keys(entry.optionalDependencies ?? {}).filter((name) => !UNPUBLISHED_OPTIONAL.has(name));
      const names = [...Object.keys({ ...entry.dependencies, ...(path === '' ? entry.devDependencies : {}) }), ...optional];
      for (const name of names) if (!resolves(path, name)) missing.push(`${path || '(root)'} → ${name}`);
    }
    expect(missing, `lock entries missing: ${REGENERATE}`).toEqual([]);
  });
});
