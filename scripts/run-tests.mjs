#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with Node's own test runner.
// Node 20's --test takes no globs, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

// The project's Node: .tools/node when scripts/setup.sh installed it there (the machine's Node is older than
// 22), which is also the one node_modules' native modules (better-sqlite3) were built for. Started on another
// Node (`node scripts/run-tests.mjs` on the machine's), this script runs itself again on that one.
const toolsNode = resolve('.tools/node/bin/node');
if (existsSync(toolsNode) && realpathSync(process.execPath) !== realpathSync(toolsNode)) {
  const again = spawnSync(toolsNode, process.argv.slice(1), {
    stdio: 'inherit',
    env: {
      ...process.env,
      PATH: `${resolve('.tools/node/bin')}${delimiter}${process.env.PATH ?? ''}`,
      npm_config_nodedir: resolve('.tools/node'),
    },
  });
  process.exit(again.status ?? 1);
}
// CI logs show which Node ran the tests.
console.error(`run-tests: Node.js ${process.version} (${process.execPath})`);

function find(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) find(path, out);
    else if (entry.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** The newest modification time of what the build reads below dir (tests are not built). */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (!entry.name.endsWith('.test.ts')) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

// Tests run the built CLI (as users do, and without compiling TypeScript in every process they
// start), so dist/ must match the source: rebuild it when anything under src/ is newer.
const builtAt = existsSync('dist/cli/main.js') ? statSync('dist/cli/main.js').mtimeMs : 0;
if (newest('src') > builtAt) {
  console.error('run-tests: dist/ is older than src/; building it first (npm run build)');
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const filter = process.argv.slice(2);
let files = [...find('src'), ...find('test')].sort();
if (filter.length) files = files.filter((f) => filter.some((part) => f.includes(part)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(result.status ?? 1);
