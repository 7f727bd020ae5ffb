#!/usr/bin/env node
// The `flashcast` command. Runs the compiled CLI (npm run build creates dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/server/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('flashcast: not built yet; run `npm run build` first\n');
  process.exit(1);
}
await import(cli);
