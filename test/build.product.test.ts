import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './helpers/paths.js';

const run = promisify(execFile);
const FIXTURES = /(^|\/)test-context\.js$|\.test\.js$/;
/** Static and dynamic imports, and `require(...)`/`require.resolve(...)` (how the lab finds Azurite to spawn it). */
const IMPORTS = /(?:from\s+|import\s*\(\s*|import\s+|\brequire(?:\.resolve)?\(\s*)['"]([^'"]+)['"]/g;
const RESOLVES = /\brequire\.resolve\(\s*['"]([^'"]+)['"]/g;
/** Modules that are programs: they run when loaded, so the production check runs them with --help instead. */
const ENTRY_POINTS = new Set(['cli/main.js', 'lab/daemon.js']);

function modules(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js'));
}

/** The modules `roots` reach through relative imports, themselves included. */
function reachable(dist: string, roots: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...roots];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const [, specifier] of readFileSync(join(dist, file), 'utf8').matchAll(IMPORTS))
      if (specifier.startsWith('.')) queue.push(relative(dist, join(dist, dirname(file), specifier)));
  }
  return seen;
}

/** The package a bare import names (`@scope/name/x` → `@scope/name`), or undefined for relative and builtin ones. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier))
    return;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * What `npm ci --omit=dev` installs, without the network: every top-level package of the lockfile
 * that is not marked `dev`, linked from this checkout's node_modules. Run with --preserve-symlinks,
 * a linked package resolves its own imports in this tree too, so a dev-only package anywhere in the
 * import graph fails to load, as it would in the container image.
 */
function productionInstall(root: string): number {
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; link?: boolean }>;
  };
  let linked = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || path.slice('node_modules/'.length).includes('node_modules/'))
      continue;
    if (entry.dev) continue;
    const target = join(root, path);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(join(REPO_ROOT, path), target, 'dir');
    linked++;
  }
  return linked;
}

/** The newest modification time of what the build reads below dir (tests are not built). */
function newestSource(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newestSource(path));
    else if (!entry.name.endsWith('.test.ts')) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

let out: string;
before(async () => {
  out = mkdtempSync(join(tmpdir(), 'phoenix-build-'));
  // The test runner (scripts/run-tests.mjs) has just run `npm run build` (`node scripts/build.mjs`, which
  // empties dist/ first) when anything under src/ was newer, so a current dist/ is that command's output:
  // a copy of it is checked. Run on its own with a stale dist/, the file builds into its own directory.
  const built = join(REPO_ROOT, 'dist/cli/main.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource(join(REPO_ROOT, 'src')))
    cpSync(join(REPO_ROOT, 'dist'), join(out, 'dist'), { recursive: true });
  else
    await run(process.execPath, [join(REPO_ROOT, 'scripts/build.mjs'), join(out, 'dist')], {
      cwd: REPO_ROOT,
    });
});
after(() => rmSync(out, { recursive: true, force: true }));

test('the one build command produces the whole product: dashboard assets, no test fixtures, production dependencies only', () => {
  const dist = join(out, 'dist');
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.scripts.build, 'node scripts/build.mjs');
  for (const asset of ['index.html', 'app.js'])
    assert.ok(existsSync(join(dist, 'server/public', asset)), asset);
  const files = modules(dist);
  assert.ok(files.includes('cli/main.js'));
  assert.deepEqual(
    files.filter((file) => FIXTURES.test(file)),
    [],
    'test fixtures compiled into the product',
  );
  const standIns = files.filter((file) => file.startsWith('stand-ins/'));
  const used = reachable(
    dist,
    files.filter((file) => !file.startsWith('stand-ins/')),
  );
  assert.deepEqual(
    standIns.filter((file) => !used.has(file)),
    [],
    'a stand-in the product (phoenix lab) does not import was compiled into it',
  );
  assert.ok(standIns.includes('stand-ins/aws/route53.js'), 'the lab runs the Route 53 stand-in');
  assert.ok(
    !standIns.includes('stand-ins/azure/arm-postgresql.js'),
    'only tests use the ARM PostgreSQL stand-in',
  );
  const shipped = new Set(Object.keys(pkg.dependencies));
  const missing: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(dist, file), 'utf8');
    for (const [, specifier] of text.matchAll(IMPORTS)) {
      const name = packageOf(specifier);
      if (name && !shipped.has(name)) missing.push(`${relative(dist, join(dist, file))} imports ${name}`);
    }
  }
  assert.deepEqual(missing, [], 'a shipped module imports a package outside "dependencies"');
});

test(
  'the product loads and runs with production dependencies only (npm ci --omit=dev, as in the image)',
  { timeout: 240_000 },
  async () => {
    const dist = join(out, 'dist');
    writeFileSync(join(out, 'package.json'), readFileSync(join(REPO_ROOT, 'package.json')));
    assert.ok(productionInstall(out) > 0);
    const strict = [process.execPath, '--preserve-symlinks', '--preserve-symlinks-main'] as const;
    const loader = join(out, 'load-all.mjs');
    // The dashboard's scripts run in the browser, not in Node.
    const libraries = modules(dist).filter(
      (file) => !ENTRY_POINTS.has(file) && !file.startsWith('server/public/'),
    );
    // What modules find with require.resolve at run time (the lab spawns Azurite from its package) must be there too.
    const resolved = libraries.flatMap((file) =>
      [...readFileSync(join(dist, file), 'utf8').matchAll(RESOLVES)]
        .filter(([, specifier]) => packageOf(specifier!))
        .map(([, specifier]) => [file, specifier]),
    );
    assert.ok(resolved.length > 0, 'the lab resolves Azurite at run time');
    writeFileSync(
      loader,
      `import { createRequire } from 'node:module';\n` +
        `for (const file of ${JSON.stringify(libraries)}) await import('./dist/' + file);\n` +
        `for (const [file, specifier] of ${JSON.stringify(resolved)})\n` +
        `  createRequire(new URL('./dist/' + file, import.meta.url)).resolve(specifier);\n` +
        `console.log('loaded', ${libraries.length});\n`,
    );
    const loaded = await run(strict[0], [...strict.slice(1), loader], { cwd: out });
    assert.match(loaded.stdout, new RegExp(`loaded ${libraries.length}`));
    const cli = (...args: string[]) =>
      run(strict[0], [...strict.slice(1), join(dist, 'cli/main.js'), ...args], { cwd: out });
    const help = await cli('--help');
    for (const command of ['run', 'drill', 'lab', 'report', 'failover', 'validate'])
      assert.match(help.stdout, new RegExp(`\\b${command}\\b`));
    for (const command of ['lab', 'drill', 'report', 'run']) await cli(command, '--help');
    const validated = await cli(
      'validate',
      '--config',
      join(REPO_ROOT, 'examples/phoenix.yaml'),
      '--json',
    ).catch((error: { stdout?: string; stderr?: string }) => error);
    assert.doesNotMatch(`${validated.stdout}${validated.stderr}`, /Cannot find (module|package)/);
  },
);
