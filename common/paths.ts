import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Resolves a non-TypeScript asset (Lua, SQL) next to a module, both when running
 * from source (vitest) and from the compiled `dist/` tree (which has no assets).
 */
export function assetPath(moduleUrl: string, relative: string): string {
  const here = dirname(fileURLToPath(moduleUrl));
  const direct = join(here, relative);
  if (existsSync(direct)) return direct;
  const source = direct.replace(/([/\\])dist([/\\])/, '$1');
  if (existsSync(source)) return source;
  throw new Error(`asset not found: ${relative} (looked in ${direct} and ${source})`);
}
