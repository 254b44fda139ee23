import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig, type PhoenixConfig } from '../config/index.js';
import { createAnalyzer } from '../analysis/index.js';
import { DecisionEngine } from '../decision/index.js';
import type { IncidentContext, SignalSnapshot } from '../core/index.js';
import {
  findScenarioFiles,
  loadScenarioFile,
  parseScenario,
  replayScenario,
  type Scenario,
} from './index.js';
import { exportScenario, type RecordedCycle } from './export.js';
import { OWN_SCENARIOS, PUBLIC_CORPUS } from '../../test/helpers/paths.js';

/** A Unix time for the recording's first cycle, as a live controller would have it. */
const START = 1_764_608_400.137;

/** The context as the live gatherers return it: times in Unix seconds, not offsets. */
function liveContext(context: IncidentContext): IncidentContext {
  const out = structuredClone(context);
  for (const e of out.aws_health?.events ?? []) if (e.startTime !== undefined) e.startTime += START;
  for (const feed of [out.cloudflare, out.azure_status])
    for (const i of feed?.incidents ?? []) if (i.started !== undefined) i.started += START;
  for (const c of out.changes ?? []) c.at += START;
  return out;
}

/**
 * Runs a scenario as the live controller would: the same decision core on Unix times that drift by
 * a few milliseconds a cycle (timer lateness), recording each cycle as the history store does.
 */
async function recordLive(scenario: Scenario, config: PhoenixConfig): Promise<RecordedCycle[]> {
  const live = { ...config, interval_s: scenario.interval, topology: scenario.topology };
  const engine = new DecisionEngine(live, createAnalyzer('evidence', live), scenario.topology);
  const signals: SignalSnapshot = {};
  const context: IncidentContext = {};
  const recorded: RecordedCycle[] = [];
  let next = 0;
  for (let k = 0; k * scenario.interval <= scenario.duration + 1e-9; k++) {
    const offset = k * scenario.interval;
    while (next < scenario.steps.length && scenario.steps[next].at <= offset + 1e-9) {
      const step = scenario.steps[next++];
      Object.assign(signals, step.signals ?? {});
      for (const [key, value] of Object.entries(step.context ?? {}))
        if (key === 'metrics') context.metrics = { ...context.metrics, ...(value as Record<string, number>) };
        else (context as Record<string, unknown>)[key] = value;
    }
    const at = START + offset + ((k * 7) % 13) / 1000;
    const cycle = { signals: structuredClone(signals), context: liveContext(context) };
    const { decision } = await engine.cycle({ now: at, ...structuredClone(cycle) });
    recorded.push({ at, ...cycle, decision });
  }
  return recorded;
}

test('every scenario recorded live, exported and replayed gives the same decision at every cycle', async () => {
  const config = defaultConfig();
  const files = findScenarioFiles([PUBLIC_CORPUS, OWN_SCENARIOS]).filter((f) => !f.includes('/holdout/'));
  assert.ok(files.length >= 20, `expected the public corpus and our own scenarios, found ${files.length}`);
  for (const file of files) {
    const scenario = loadScenarioFile(file);
    const recorded = await recordLive(scenario, config);
    const { document, warnings } = exportScenario(recorded, {
      interval_s: scenario.interval,
      topology: scenario.topology,
      expect: {
        action: scenario.expect.action,
        by: scenario.expect.by,
        not_before: scenario.expect.not_before,
      },
    });
    assert.deepEqual(warnings, [], file);
    const exported = parseScenario(JSON.parse(JSON.stringify(document)), `${scenario.name} (exported)`);
    const replayed = await replayScenario(exported, {
      config,
      analyzer: () => createAnalyzer('evidence', config),
    });
    assert.deepEqual(
      replayed.cycles.map((d) => `${d.at}: ${d.action} ${d.category}`),
      recorded.map((c, k) => `${k * scenario.interval}: ${c.decision.action} ${c.decision.category}`),
      `${scenario.name}: the replay of the export departs from the live run`,
    );
  }
});

const cycle = (at: number, signals: SignalSnapshot, context?: IncidentContext): RecordedCycle => ({
  at,
  signals,
  context,
  decision: { action: 'none', category: 'unknown', confidence: 'low' },
});

test('the export lists only what changed, turns live times into offsets and drops fields the format lacks', () => {
  const ok = { status: 'ok' as const };
  const outage = {
    available: true,
    detail: 'answered in 40 ms',
    events: [
      {
        service: 'EC2',
        region: 'us-east-1',
        eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
        eventTypeCategory: 'issue' as const,
        statusCode: 'open' as const,
        startTime: START - 90,
      },
    ],
  };
  const { document, warnings } = exportScenario(
    [
      cycle(START, { a: ok, b: ok }),
      cycle(START + 30.01, { a: { status: 'error', detail: 'down' }, b: ok }, { aws_health: outage }),
      cycle(START + 59.99, { a: { status: 'error', detail: 'down' }, b: ok }, { aws_health: outage }),
    ],
    { interval_s: 30, topology: defaultConfig().topology },
  );
  const steps = document.steps as Array<Record<string, unknown>>;
  assert.deepEqual(
    steps.map((s) => s.at),
    [0, 30, 60],
  );
  assert.deepEqual(steps[0].signals, { a: ok, b: ok });
  assert.deepEqual(steps[1].signals, { a: { status: 'error', detail: 'down' } });
  assert.deepEqual(steps[1].context, {
    aws_health: { available: true, events: [{ ...outage.events[0], startTime: -90 }] },
  });
  assert.equal(steps[2].signals, undefined);
  assert.equal(steps[2].context, undefined);
  assert.equal(document.duration, 60);
  assert.deepEqual(document.expect, {
    action: 'none',
    why: "the live controller's own decision (none), not a reviewed expectation: check it before adding the scenario to a corpus",
  });
  assert.deepEqual(warnings, []);
});

test('what the format cannot carry is reported: a skipped slot, two cycles in one slot, a context gone', () => {
  const ok = { status: 'ok' as const };
  const { warnings } = exportScenario(
    [
      cycle(START, { a: ok }, { aws_health: { available: true, events: [] }, metrics: { error_rate: 0.5 } }),
      cycle(START + 90, { a: ok }),
      cycle(START + 92, { a: ok }),
    ],
    { interval_s: 30, topology: defaultConfig().topology },
  );
  assert.equal(warnings.length, 4, warnings.join('\n'));
  assert.match(warnings.join('\n'), /2 slot\(s\) without a recorded cycle/);
  assert.match(warnings.join('\n'), /two cycles fall in the slot at \+90s/);
  assert.match(warnings.join('\n'), /aws_health was not gathered at \+90s/);
  assert.match(warnings.join('\n'), /metrics error_rate missing at \+90s/);
});
