/**
 * Lint: the import structure of the house and a handful of real-bug
 * rules. No style rules: formatting is not linted.
 *
 * Dependencies point one way: protocol <- common <- server/realtime <- server/commerce <-
 * server/settlement (server/webhooks sits below commerce: it sees only common/ and server/db), with
 * the composition roots (server/GatewayNode.ts, server/cli.ts, server/attachSfu.ts,
 * server/settlement/main.ts, sfu/main.ts) on top; sfu/ sees only common/
 * and protocol/; client-sdk/ only protocol/; web/ only client-sdk/ and protocol/; production code never imports test/ or load-tests/.
 * `npm run lint` runs it; `npm test` runs `npm run lint` first. test/lint.test.ts proves the
 * rules fire on the fixtures in test/lint-fixtures/.
 */
import { join } from 'node:path';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import flashcast from './scripts/eslint-rules.js';

/** Every top-level part; a zone's `from` lists parts, never `.` (that would match node_modules). */
const PARTS = ['protocol', 'common', 'server', 'sfu', 'client-sdk', 'load-tests', 'test', 'scripts', 'web'];
const others = (...allowed) => PARTS.filter((p) => !allowed.includes(p)).map((p) => `./${p}`);

/** The forbidden imports: `target` may not import anything under `from`. */
export const zones = [
  {
    target: './protocol',
    from: others('protocol'),
    message: 'protocol/ is the wire schema: it imports nothing of the project.',
  },
  {
    target: './common',
    from: others('common', 'protocol'),
    message: 'common/ is the shared place: it imports only protocol/.',
  },
  {
    target: './sfu',
    from: others('sfu', 'common', 'protocol'),
    message: 'sfu/ imports only common/ and protocol/ (the server reaches the SFU, never the reverse).',
  },
  {
    target: './client-sdk',
    from: others('client-sdk', 'protocol'),
    message: 'client-sdk/ imports only protocol/ (it ships to browsers).',
  },
  {
    target: './web',
    from: others('web', 'client-sdk', 'protocol'),
    message: 'web/ (the pages) imports only client-sdk/ and protocol/: it talks to the server over its public API.',
  },
  {
    target: './server/realtime',
    from: ['./server/commerce', './server/settlement'],
    message: 'server/realtime/ sits below commerce and settlement: the composition root wires them in.',
  },
  {
    target: './server/commerce',
    from: './server/settlement',
    message: 'Settlement may use commerce, never the reverse.',
  },
  {
    target: './server/webhooks',
    from: ['./server/realtime', './server/commerce', './server/settlement'],
    message: 'server/webhooks/ sits below commerce and settlement (they record events through it): it sees common/ and server/db only.',
  },
  {
    // Only the composition roots (server/GatewayNode.ts, server/cli.ts, server/attachSfu.ts) build the SFU.
    target: ['./server/realtime', './server/commerce', './server/settlement', './server/webhooks', './server/http', './server/db', './server/redis', './server/metrics'],
    from: './sfu',
    message: 'Only the composition roots (GatewayNode, cli, attachSfu) import sfu/.',
  },
  {
    target: others('test', 'load-tests'),
    from: ['./test', './load-tests'],
    message: 'Production code never imports test/ or load-tests/.',
  },
];

/**
 * The lint configuration for a tree laid out like this repository, rooted at `root` (the fixture
 * test lints test/lint-fixtures/ with it).
 */
export function flashcastLintConfig(root) {
  return defineConfig(
    {
      ignores: ['dist/**', 'node_modules/**', 'protocol/gen/**', 'load-tests/k6/**', 'data/**', 'test/lint-fixtures/**'],
    },
    {
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser },
      plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX, flashcast },
      settings: {
        'import-x/extensions': ['.ts', '.js', '.mjs'],
        'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
        'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
        'import-x/resolver-next': [createTypeScriptImportResolver({ project: join(root, 'tsconfig.json') })],
      },
      linterOptions: { reportUnusedDisableDirectives: 'error' },
      rules: {
        'import-x/no-cycle': 'error',
        'flashcast/no-type-cycle': 'error',
        'import-x/no-self-import': 'error',
        'import-x/no-restricted-paths': ['error', { zones, basePath: root }],
      },
    },
    {
      // Real-bug rules that need types, on the code tsconfig.json builds (tests are not in it).
      files: ['protocol', 'common', 'server', 'sfu', 'client-sdk', 'load-tests', 'scripts', 'web'].map((p) => `${p}/**/*.ts`),
      ignores: ['**/*.test.ts'],
      languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } },
      rules: {
        '@typescript-eslint/no-floating-promises': 'error',
        '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
        '@typescript-eslint/await-thenable': 'error',
      },
    },
    {
      // Unit tests next to the code may import what they check (e.g. the SDK's test compares its codes with the server's).
      files: ['**/*.test.ts'],
      rules: { 'import-x/no-restricted-paths': 'off' },
    },
  );
}

export default flashcastLintConfig(import.meta.dirname);
