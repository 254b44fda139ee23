import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './helpers/paths.js';

const FIXTURES = /(^|\/)(fakes|fakes-cloud|fake-arm|fake-apiserver|test-context)\.js$|\.test\.js$/;

function modules(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js'));
}

/** The package a bare import names (`@scope/name/x` → `@scope/name`), or undefined for relative and builtin ones. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier))
    return;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

test(
  'the one build command produces the whole product: dashboard assets, no test fixtures, production dependencies only',
  { timeout: 300_000 },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'phoenix-build-'));
    try {
      // `npm run build` is `node scripts/build.mjs`; the directory argument keeps the shared dist/ untouched.
      await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'scripts/build.mjs'), out], {
        cwd: REPO_ROOT,
      });
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
      assert.equal(pkg.scripts.build, 'node scripts/build.mjs');
      for (const asset of ['index.html', 'app.js'])
        assert.ok(existsSync(join(out, 'server/public', asset)), asset);
      const files = modules(out);
      assert.ok(files.includes('cli/main.js'));
      assert.deepEqual(
        files.filter((file) => FIXTURES.test(file)),
        [],
        'test fixtures compiled into the product',
      );
      const shipped = new Set(Object.keys(pkg.dependencies));
      const missing: string[] = [];
      for (const file of files) {
        const text = readFileSync(join(out, file), 'utf8');
        for (const [, specifier] of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
          const name = packageOf(specifier);
          if (name && !shipped.has(name)) missing.push(`${relative(out, join(out, file))} imports ${name}`);
        }
      }
      assert.deepEqual(missing, [], 'a shipped module imports a package outside "dependencies"');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);
