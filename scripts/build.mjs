#!/usr/bin/env node
// Builds the whole product (`npm run build`): the compiled controller and the dashboard's assets, into dist/
// or the directory given. Test fixtures stay out (tsconfig.build.json excludes them). So do the stand-ins
// (src/stand-ins/) but for the ones `phoenix lab` imports: tsc still compiles an excluded file another one imports.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

process.chdir(fileURLToPath(new URL('..', import.meta.url)));
const out = resolve(process.argv[2] ?? 'dist');
rmSync(out, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', out], {
  stdio: 'inherit',
});
if (compiled.status !== 0) process.exit(compiled.status ?? 1);
cpSync('src/server/public', join(out, 'server/public'), { recursive: true });
chmodSync(join(out, 'cli/main.js'), 0o755);
