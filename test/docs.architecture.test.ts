import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers/paths.js';

const MAP = readFileSync(join(REPO_ROOT, 'docs/architecture.md'), 'utf8');

/** The section of the map under a `## ` heading. */
function section(heading: string): string {
  const start = MAP.indexOf(`## ${heading}`);
  assert.ok(start >= 0, `docs/architecture.md has no "## ${heading}" section`);
  const end = MAP.indexOf('\n## ', start + 1);
  return MAP.slice(start, end < 0 ? undefined : end);
}

test('every path the architecture map names exists', () => {
  const named = [...MAP.matchAll(/`(src\/[^`\s]*)`/g)].map((m) => m[1].replace(/<[^>]+>.*$/, ''));
  assert.ok(named.length > 20, `only ${named.length} paths named`);
  assert.deepEqual(
    named.filter((path) => !existsSync(join(REPO_ROOT, path))),
    [],
    'docs/architecture.md names paths that do not exist',
  );
});

test('the map gives every folder under src/ its job, and no folder that is gone', () => {
  const folders = readdirSync(join(REPO_ROOT, 'src'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `src/${entry.name}/`);
  const table = section("Each folder's job");
  const rows = [...table.matchAll(/^\| `(src\/[^`]+)`\s*\|/gm)].map((m) => m[1]);
  assert.deepEqual([...rows].sort(), [...folders].sort());
});

test('the map says where a new probe, explanation, step type, DNS provider and stand-in go', () => {
  const places = section('Where a new piece goes');
  for (const kind of ['Probe', 'Explanation', 'Step type', 'DNS provider', 'Stand-in'])
    assert.match(places, new RegExp(`\\*\\*${kind}:\\*\\* .*\`src/`), kind);
});
