#!/usr/bin/env node
// Generates the static protobuf codec from protocol/flashcast.proto (the single
// source of truth) into protocol/gen/ and dist/protocol/gen/, and bundles a
// self-contained copy for k6 scripts into load-tests/k6/lib/.
import { mkdirSync, rmSync, readFileSync, writeFileSync, copyFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pbjs, pbts } from 'protobufjs-cli';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const proto = join(root, 'protocol', 'flashcast.proto');
const genDir = join(root, 'protocol', 'gen');
const distDir = join(root, 'dist', 'protocol', 'gen');
const k6Dir = join(root, 'load-tests', 'k6', 'lib');
const jsOut = join(genDir, 'flashcast.js');
const dtsOut = join(genDir, 'flashcast.d.ts');

function run(tool, args) {
  return new Promise((resolve, reject) => {
    tool.main(args, (err, output) => (err ? reject(err) : resolve(output)));
  });
}

function fresh(out) {
  return existsSync(out) && statSync(out).mtimeMs >= statSync(proto).mtimeMs &&
    statSync(out).mtimeMs >= statSync(fileURLToPath(import.meta.url)).mtimeMs;
}

mkdirSync(genDir, { recursive: true });
mkdirSync(distDir, { recursive: true });
mkdirSync(k6Dir, { recursive: true });

if (!fresh(dtsOut) || !fresh(jsOut)) {
  await run(pbjs, [
    '-t', 'static-module', '-w', 'es6', '--force-number', '--no-verify', '--no-delimited',
    '--no-service', '--no-typeurl', '--no-comments', '-o', jsOut, proto,
  ]);
  // Node's ESM resolver needs the file extension.
  const js = readFileSync(jsOut, 'utf8')
    .replace(
      'import * as $protobuf from "protobufjs/minimal"',
      // 64-bit fields as plain numbers (offsets, timestamps, minor units all fit in 2^53).
      'import $protobuf from "protobufjs/minimal.js";\n$protobuf.util.Long = undefined;\n$protobuf.configure()',
    );
  writeFileSync(jsOut, js);
  // pbts reads JSDoc, so it runs on a commented build.
  const tmpJs = join(genDir, '.flashcast.commented.js');
  await run(pbjs, ['-t', 'static-module', '-w', 'es6', '--force-number', '--no-verify', '--no-delimited',
    '--no-service', '--no-typeurl', '-o', tmpJs, proto]);
  await run(pbts, ['-o', dtsOut, tmpJs]);
  rmSync(tmpJs);
}
copyFileSync(jsOut, join(distDir, 'flashcast.js'));
copyFileSync(dtsOut, join(distDir, 'flashcast.d.ts'));

// A dependency-free bundle for k6 (goja): protobufjs/minimal inlined. CommonJS, because k6
// before v0.53 runs every ES module through Babel: 470 KB of ESM took tens of seconds and
// about 1.5 GB to load, the same code as CommonJS well under a second. Scripts import it
// with `import { flashcast } from './lib/flashcast-proto.cjs'` (named exports of a CommonJS
// module work on every k6 version). It carries decodeServerFrames, the one decoder of batches.
const esbuild = await import('esbuild');
rmSync(join(k6Dir, 'flashcast-proto.js'), { force: true }); // the former ESM bundle
await esbuild.build({
  entryPoints: [join(root, 'protocol', 'k6.ts')],
  bundle: true,
  format: 'cjs',
  target: 'es2017',
  outfile: join(k6Dir, 'flashcast-proto.cjs'),
  logLevel: 'warning',
});
