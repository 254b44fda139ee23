import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { REPO_ROOT } from './helpers/paths.js';

/** The repository's own lint configuration, as `npm run lint` runs it. */
const repo = new ESLint({ cwd: REPO_ROOT });
const IMPORTS_ROUTE53 = (from: string) =>
  `import { FakeRoute53 } from '${from}/stand-ins/aws/route53.js';\nexport const route53 = FakeRoute53;\n`;

async function ruleIds(code: string, file: string): Promise<string[]> {
  const [result] = await repo.lintText(code, { filePath: join(REPO_ROOT, file) });
  return result.messages.map((message) => message.ruleId ?? message.message);
}

test('lint refuses a product module that imports a stand-in; the lab and tests may', async () => {
  assert.deepEqual(await ruleIds(IMPORTS_ROUTE53('../..'), 'src/actions/dns/new-provider.ts'), [
    'import-x/no-restricted-paths',
  ]);
  assert.deepEqual(await ruleIds(IMPORTS_ROUTE53('..'), 'src/controller/new-sink.ts'), [
    'import-x/no-restricted-paths',
  ]);
  assert.deepEqual(await ruleIds(IMPORTS_ROUTE53('../..'), 'src/lab/scenarios/new-scenario.ts'), []);
  assert.deepEqual(await ruleIds(IMPORTS_ROUTE53('../..'), 'src/actions/dns/new-provider.test.ts'), []);
  assert.deepEqual(await ruleIds(IMPORTS_ROUTE53('..'), 'src/stand-ins/aws/new-service.ts'), []);
});

// no-cycle follows imports on disk, so the modules of this test are files: a scratch tree linted with the
// repository's configuration (a src/ tree outside the real one, which other builds may be compiling).
const scratch = mkdtempSync(join(tmpdir(), 'phoenix-lint-cycle-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('lint refuses an import cycle in src/, and passes a module that only imports into one', async () => {
  writeFileSync(
    join(scratch, 'eslint.config.mjs'),
    `export { default } from ${JSON.stringify(join(REPO_ROOT, 'eslint.config.js'))};\n`,
  );
  mkdirSync(join(scratch, 'src'));
  const write = (name: string, text: string) => writeFileSync(join(scratch, 'src', name), text);
  write('score.ts', "import { level } from './levels.js';\nexport const score = (n: number) => level(n);\n");
  write(
    'levels.ts',
    "import { score } from './score.js';\nexport const level = (n: number) => n > 3 && score;\n",
  );
  write('cli.ts', "import { score } from './score.js';\nexport const run = () => score(1);\n");
  const results = await new ESLint({ cwd: scratch }).lintFiles(['src/score.ts', 'src/cli.ts']);
  const byFile = Object.fromEntries(
    results.map((r) => [r.filePath.slice(scratch.length + 1), r.messages.map((m) => m.ruleId ?? m.message)]),
  );
  assert.deepEqual(byFile, { 'src/score.ts': ['import-x/no-cycle'], 'src/cli.ts': [] });
});
