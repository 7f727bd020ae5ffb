/**
 * The project's own ESLint rules (plugin `flashcast`, used by eslint.config.js).
 *
 * `flashcast/no-type-cycle`: import-x/no-cycle skips `import type`, so a cycle that exists only
 * through type-only imports (FlashcastClient -> Room -> (type) Publisher -> MediaChannel ->
 * FlashcastClient) passes it. This rule follows every import (values, types, `export ... from`,
 * `import()` and `import('x').T`) and reports a cycle through this file's import only when no
 * value-only path closes it, i.e. exactly the cycles import-x/no-cycle cannot see.
 */
import { readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import ts from 'typescript';

const OPTIONS = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };
const resolutionCache = ts.createModuleResolutionCache(process.cwd(), (f) => f, OPTIONS);

/** @typedef {{ target: string, typeOnly: boolean }} Edge */

/** A project file (not node_modules, not a declaration file) that `spec` in `from` names, or null. */
function resolveImport(spec, from) {
  if (!spec.startsWith('.')) return null;
  const r = ts.resolveModuleName(spec, from, OPTIONS, ts.sys, resolutionCache).resolvedModule;
  if (!r || r.isExternalLibraryImport || r.resolvedFileName.endsWith('.d.ts')) return null;
  return r.resolvedFileName;
}

/** @type {Map<string, { mtimeMs: number, edges: Edge[] }>} */
const graph = new Map();

/** The imports of a file on disk, parsed with TypeScript (cached by mtime). */
function edgesOf(file) {
  let mtimeMs;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return [];
  }
  const cached = graph.get(file);
  if (cached && cached.mtimeMs === mtimeMs) return cached.edges;
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  /** @type {Edge[]} */
  const edges = [];
  const add = (spec, typeOnly) => {
    const target = resolveImport(spec, file);
    if (target) edges.push({ target, typeOnly });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : null;
      const typeOnly = Boolean(clause) && (clause.isTypeOnly || (!clause.name && named !== null && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : null;
      add(node.moduleSpecifier.text, node.isTypeOnly || (named !== null && named.length > 0 && named.every((e) => e.isTypeOnly)));
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) add(arg.text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  graph.set(file, { mtimeMs, edges });
  return edges;
}

/** A path of files from `start` back to `goal` (breadth first), or null; `valuesOnly` skips type-only imports. */
function pathBack(start, goal, valuesOnly) {
  const previous = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift();
    for (const { target, typeOnly } of edgesOf(file)) {
      if (valuesOnly && typeOnly) continue;
      if (target === goal) {
        const route = [file];
        for (let f = previous.get(file); f; f = previous.get(f)) route.unshift(f);
        return route;
      }
      if (!previous.has(target)) {
        previous.set(target, file);
        queue.push(target);
      }
    }
  }
  return null;
}

/** @type {import('eslint').Rule.RuleModule} */
const noTypeCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid import cycles that run through type-only imports (import-x/no-cycle reports the others).' },
    schema: [],
    messages: { cycle: 'Import cycle through type-only imports: {{route}}' },
  },
  create(context) {
    const filename = context.physicalFilename;
    if (!filename.endsWith('.ts')) return {};
    const check = (node, source, typeOnly) => {
      if (!source || typeof source.value !== 'string') return;
      const target = resolveImport(source.value, filename);
      if (!target || target === filename) return;
      const route = pathBack(target, filename, false);
      if (!route) return;
      // A value-only cycle is import-x/no-cycle's to report.
      if (!typeOnly && pathBack(target, filename, true)) return;
      const names = [filename, ...route, filename].map((f) => relative(context.cwd, f));
      context.report({ node, messageId: 'cycle', data: { route: names.join(' -> ') } });
    };
    const allTypes = (specifiers, key) => specifiers.length > 0 && specifiers.every((s) => s[key] === 'type');
    return {
      ImportDeclaration: (node) => check(node, node.source, node.importKind === 'type' || allTypes(node.specifiers, 'importKind')),
      ExportNamedDeclaration: (node) => check(node, node.source, node.exportKind === 'type' || allTypes(node.specifiers, 'exportKind')),
      ExportAllDeclaration: (node) => check(node, node.source, node.exportKind === 'type'),
      ImportExpression: (node) => check(node, node.source.type === 'Literal' ? node.source : null, false),
      TSImportType: (node) => check(node, node.argument?.type === 'TSLiteralType' ? node.argument.literal : node.argument, true),
    };
  },
};

/** The `flashcast` ESLint plugin. */
export default { meta: { name: 'flashcast' }, rules: { 'no-type-cycle': noTypeCycle } };
