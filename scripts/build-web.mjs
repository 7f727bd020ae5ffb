#!/usr/bin/env node
// Builds the pages into dist/public/ with Vite: the HTML in web/public/ is copied as is, and
// each script entry is bundled and minified on its own, under a fixed name, so a shop can
// embed a stable URL (/embed/flashcast-live.js) and every entry's size is its own:
//   /embed/flashcast-live.js  the <flashcast-live> viewer element (the watch page uses it too)
//   /sdk/flashcast.js         the client SDK as a browser ES module
//   /studio/studio.js         the host studio
//   /ops/ops.js               the ops console
// Lazy parts (mediasoup-client, loaded on the first watch or publish) become chunks next to
// their entry. Usage: node scripts/build-web.mjs
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'public');

export const ENTRIES = [
  { name: 'embed/flashcast-live', entry: 'web/src/embed.ts' },
  { name: 'sdk/flashcast', entry: 'web/src/sdk.ts' },
  { name: 'studio/studio', entry: 'web/src/studio/main.ts' },
  { name: 'ops/ops', entry: 'web/src/ops/main.ts' },
];

rmSync(out, { recursive: true, force: true });
for (const [i, { name, entry }] of ENTRIES.entries()) {
  const dir = dirname(name);
  await build({
    configFile: false,
    root: join(root, 'web'),
    // The static HTML is copied once, with the first entry.
    publicDir: i === 0 ? join(root, 'web', 'public') : false,
    logLevel: 'warn',
    build: {
      outDir: out,
      emptyOutDir: false,
      target: 'es2022',
      minify: true,
      sourcemap: false,
      reportCompressedSize: false,
      lib: { entry: join(root, entry), formats: ['es'], fileName: () => `${name}.js` },
      rollupOptions: {
        // Lib mode keeps whitespace in ES output by default; these files are served as is.
        output: { chunkFileNames: `${dir}/chunks/[name]-[hash].js`, minify: true },
      },
    },
  });
}
process.stdout.write(`web: built ${ENTRIES.length} entries into ${out}\n`);
