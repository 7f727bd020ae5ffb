import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { flashcastLintConfig } from '../eslint.config.js';

/**
 * The lint rules fire: the project's own configuration (eslint.config.js) over a small tree laid
 * out like the repository (test/lint-fixtures/), where each file breaks one rule or none. If a
 * zone, the cycle rules or the typed rules stop working, this fails instead of lint passing quietly.
 */
const FIXTURES = fileURLToPath(new URL('./lint-fixtures', import.meta.url));

async function lintFixtures(): Promise<Record<string, string[]>> {
  const eslint = new ESLint({ cwd: FIXTURES, overrideConfigFile: true, overrideConfig: flashcastLintConfig(FIXTURES) });
  const found: Record<string, string[]> = {};
  for (const result of await eslint.lintFiles(['.'])) {
    const file = result.filePath.slice(FIXTURES.length + 1);
    found[file] = result.messages.map((m) => m.ruleId ?? `parse error: ${m.message}`).sort();
  }
  return found;
}

describe('lint', () => {
  it('reports each forbidden import, both kinds of cycle and a floating promise, and nothing else', async () => {
    expect(await lintFixtures()).toEqual({
      // Allowed: sfu/ -> protocol/, a composition root -> sfu/ + commerce + settlement, leaves.
      'sfu/Clean.ts': [],
      'server/Root.ts': [],
      'protocol/Wire.ts': [],
      'common/Shared.ts': [],
      'server/Internal.ts': [],
      'server/commerce/Catalog.ts': [],
      'server/settlement/Job.ts': [],
      'test/helper.ts': [],
      // Forbidden imports.
      'sfu/Leak.ts': ['import-x/no-restricted-paths'],
      'protocol/UsesCommon.ts': ['import-x/no-restricted-paths'],
      'client-sdk/UsesCommon.ts': ['import-x/no-restricted-paths'],
      'server/realtime/UsesCommerce.ts': ['import-x/no-restricted-paths'],
      'server/commerce/UsesSettlement.ts': ['import-x/no-restricted-paths'],
      'server/commerce/UsesSfu.ts': ['import-x/no-restricted-paths'],
      // common/ -> test/: both the common/ zone and the no-test-imports zone.
      'common/UsesTest.ts': ['import-x/no-restricted-paths', 'import-x/no-restricted-paths'],
      // A runtime cycle, and a cycle that only a type-only import closes.
      'common/CycleA.ts': ['import-x/no-cycle'],
      'common/CycleB.ts': ['import-x/no-cycle'],
      'client-sdk/Client.ts': ['flashcast/no-type-cycle'],
      'client-sdk/Room.ts': ['flashcast/no-type-cycle'],
      'common/Floating.ts': ['@typescript-eslint/no-floating-promises'],
    });
  });

  it('runs in the test command, before the tests', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.lint).toMatch(/\beslint\b/);
    expect(pkg.scripts.test).toMatch(/npm run lint\b.*&&.*vitest run/);
  });
});
