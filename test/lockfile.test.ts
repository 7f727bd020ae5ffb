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
      const names = { ...entry.dependencies, ...entry.optionalDependencies, ...(path === '' ? entry.devDependencies : {}) };
      for (const name of Object.keys(names)) if (!resolves(path, name)) missing.push(`${path || '(root)'} → ${name}`);
    }
    expect(missing, `lock entries missing: ${REGENERATE}`).toEqual([]);
  });
});
