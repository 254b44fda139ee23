import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import type { z } from 'zod';
import { parse } from 'yaml';
import { configSchema, parseHoldingReferences, referenceRows, referenceTable } from '../src/config/index.js';
import { stepSchema, STEP_TYPES } from '../src/config/sections/runbooks.js';
import { getAdapter } from '../src/actions/index.js';
import { REPO_ROOT } from './helpers/paths.js';

const REFERENCE = resolve(REPO_ROOT, 'docs/configuration.md');
const REGENERATE = 'UPDATE_DOCS=1 node scripts/run-tests.mjs docs.reference';

/** docs/configuration.md as the schemas say it must read now (formatted as `npm run lint` wants it). */
async function render(): Promise<string> {
  const steps = STEP_TYPES.map(
    (type) =>
      `### \`${type}\`\n\nEach step's \`params\`; [steps/${type}.md](steps/${type}.md) shows one in YAML.\n\n` +
      referenceTable(getAdapter(type).schema as z.ZodType),
  );
  const text = [
    '# Configuration reference',
    '',
    `<!-- Generated from the zod schemas (src/config/sections, src/actions/*/config.ts): do not edit. Regenerate with \`${REGENERATE}\`; the test fails while this file is stale. -->`,
    '',
    'Every key `phoenix validate` accepts, where it sits, what it takes and its default. Keys marked required',
    'must be given when their section is; every other key may be left out. `<name>` is a name you choose;',
    '`[]` is each item of a list; `(channel: slack)` is the variant of a mapping chosen by that key. A duration',
    'is `500ms`, `30s`, `5m`, `1h`, `1d` or a number of seconds. Any string may be `${VAR}`, `${VAR:-default}`,',
    '`${aws-sm:…}` or `${azure-kv:VAULT/NAME}` ([security.md](security.md)). The commented',
    '[examples/phoenix.yaml](../examples/phoenix.yaml) shows the seed topology in use; the runbook lint is',
    '[runbook-lint.md](runbook-lint.md).',
    '',
    '## The configuration file',
    '',
    referenceTable(configSchema),
    '',
    '## Runbook step parameters',
    '',
    steps.join('\n\n'),
    '',
  ].join('\n');
  return format(text, { ...(await resolveConfig(REFERENCE)), parser: 'markdown', filepath: REFERENCE });
}

test('docs/configuration.md is the reference the schemas generate now', async () => {
  const want = await render();
  if (process.env.UPDATE_DOCS === '1') writeFileSync(REFERENCE, want);
  const have = readFileSync(REFERENCE, 'utf8');
  assert.ok(have === want, `docs/configuration.md is stale: regenerate it with ${REGENERATE}`);
});

test('the reference lists a key the schema accepts, with its allowed values and default', () => {
  const rows = referenceRows(configSchema);
  const silence = rows.find((r) => r.path === 'runbooks.lint.silence');
  assert.ok(silence, 'runbooks.lint.silence is listed');
  assert.match(silence.takes, /`fence-after-traffic`/);
  assert.equal(silence.default, '[]');
  const slack = rows.find((r) => r.path === 'notifications.channels[] (channel: slack).webhook_url');
  assert.equal(slack?.takes, 'URL (required)');
});

test('every step type has its page in docs/steps, whose YAML example is a valid step of that type', () => {
  for (const type of STEP_TYPES) {
    const page = readFileSync(resolve(REPO_ROOT, `docs/steps/${type}.md`), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(page)?.[1];
    assert.ok(yaml, `docs/steps/${type}.md has a YAML example`);
    const steps = parse(yaml) as unknown[];
    assert.ok(Array.isArray(steps) && steps.length > 0, `docs/steps/${type}.md: a list of steps`);
    for (const step of steps) {
      const shape = stepSchema.safeParse(step);
      assert.ok(shape.success, `docs/steps/${type}.md: ${shape.error?.message}`);
      assert.equal(shape.data.type, type);
      const params = parseHoldingReferences(getAdapter(type).schema as z.ZodType, shape.data.params ?? {});
      assert.ok(params.success, `docs/steps/${type}.md, step ${shape.data.name}: ${params.error?.message}`);
    }
  }
});
