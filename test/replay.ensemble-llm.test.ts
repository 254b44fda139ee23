import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeLlmServer, type LlmFakeMode } from '../src/stand-ins/llm/model-apis.js';
import { PUBLIC_CORPUS, runCli } from './helpers/paths.js';

interface ScenarioLine {
  scenario: string;
  met: boolean;
  problems: string[];
  decisions: Array<{ at: number; action: string; reason: string }>;
}

/**
 * The public corpus through `phoenix replay --analyzer ensemble`, with the
 * official OpenAI SDK pointed at a local model server by the standard
 * environment variables. Whatever the model says, no scenario may get a DR it
 * should not get.
 */
describe('replay --analyzer ensemble against a local model', () => {
  const fake = new FakeLlmServer();
  before(async () => {
    await fake.start();
  });
  after(async () => {
    await fake.close();
  });

  async function replay(mode: LlmFakeMode, api: 'openai' | 'anthropic' = 'openai'): Promise<ScenarioLine[]> {
    fake.setMode(mode);
    fake.requests.length = 0;
    const env =
      api === 'openai'
        ? { PHOENIX_LLM_PROVIDER: 'openai', OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_API_KEY: 'test-key' }
        : {
            PHOENIX_LLM_PROVIDER: 'anthropic',
            ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
            ANTHROPIC_API_KEY: 'test-key',
          };
    const result = await runCli(['replay', PUBLIC_CORPUS, '--analyzer', 'ensemble', '--json'], {
      env,
      timeoutMs: 280_000,
    });
    assert.equal(result.code, 0, result.stderr);
    return result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ScenarioLine);
  }

  test('a model that always recommends DR with high confidence causes zero false-positive DRs', async () => {
    const lines = await replay('always_dr');
    assert.ok(lines.length >= 20, `the public corpus replayed (${lines.length} scenarios)`);
    assert.ok(fake.requests.length > 0, 'the model was consulted');
    const wrong = lines.flatMap((l) =>
      l.problems.filter((p) => /false-positive DR|premature DR/.test(p)).map((p) => `${l.scenario}: ${p}`),
    );
    assert.deepEqual(wrong, []);
    const agreed = lines.filter((l) => l.decisions.some((d) => d.action === 'dr_failover'));
    assert.ok(agreed.length > 0, 'where the evidence also says DR, the agreement fails over');
  });

  for (const mode of ['malformed_json', 'wrong_fields', 'server_error'] as const) {
    test(`a model answering ${mode} never lets a DR through`, async () => {
      const lines = await replay(mode, mode === 'wrong_fields' ? 'anthropic' : 'openai');
      assert.ok(fake.requests.length > 0, 'the model was consulted');
      const drs = lines.flatMap((l) =>
        l.decisions.filter((d) => d.action === 'dr_failover').map(() => l.scenario),
      );
      assert.deepEqual(
        drs,
        [],
        'without a usable second opinion the ensemble escalates instead of failing over',
      );
    });
  }
});
