import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const sdk = fileURLToPath(new URL('.', import.meta.url));
const root = resolve(sdk, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Relative imports of a file (static, type-only, re-exports and dynamic), as absolute .ts paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => resolve(dirname(file), name.replace(/\.js$/, '.ts')));
}

/** Every cycle in the graph (each reported once, as a path of relative names). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'active');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'active') found.push([...stack.slice(stack.indexOf(next)), next].map((p) => relative(root, p)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

describe('client-sdk dependencies', () => {
  const files = sources(sdk);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));

  it('has no import cycle (type-only and dynamic imports count)', () => {
    expect(files.length).toBeGreaterThan(5);
    expect(cycles(graph)).toEqual([]);
  });

  it('imports nothing of the repository but protocol/', () => {
    const outside = files.flatMap((f) =>
      (graph.get(f) ?? []).filter((to) => !to.startsWith(sdk) && !to.startsWith(join(root, 'protocol'))).map((to) => `${relative(root, f)} -> ${relative(root, to)}`),
    );
    expect(outside).toEqual([]);
  });

  it('finds a cycle when there is one (the check can fail)', () => {
    const a = join(sdk, 'A.ts');
    const b = join(sdk, 'B.ts');
    expect(cycles(new Map([[a, [b]], [b, [a]]]))).toHaveLength(1);
  });

  it('keeps rooms and media away from the client: they see a SessionChannel', () => {
    const client = join(sdk, 'FlashcastClient.ts');
    const users = files.filter((f) => f !== join(sdk, 'index.ts') && (graph.get(f) ?? []).includes(client));
    expect(users.map((f) => relative(root, f))).toEqual([]);
  });
});
