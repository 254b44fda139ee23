import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { REPO_ROOT } from './helpers/paths.js';

/** Pages other engineers write in parallel: linked before they land. */
const PAGES_OF_OTHERS = new Set(
  [
    'architecture',
    'lifecycle',
    'postgres-versions',
    'cloud-conformance',
    'security',
    'guarantees',
    'decision-impact',
    'multi-host',
  ].map((name) => resolve(REPO_ROOT, `docs/${name}.md`)),
);

const pages = [
  'README.md',
  ...readdirSync(resolve(REPO_ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f)),
];

test('the README is a front page of under 250 lines', () => {
  const lines = readFileSync(resolve(REPO_ROOT, 'README.md'), 'utf8').split('\n').length;
  assert.ok(lines < 250, `README.md has ${lines} lines; move the detail to docs/`);
});

test('every relative link in the README and docs/ points at a file that exists', () => {
  const broken: string[] = [];
  for (const page of pages) {
    const text = readFileSync(resolve(REPO_ROOT, page), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const path = resolve(REPO_ROOT, dirname(page), target!);
      if (!existsSync(path) && !PAGES_OF_OTHERS.has(path)) broken.push(`${page}: ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});
