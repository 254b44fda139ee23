// Decision time per cycle (p50/p99), warm and cold, and replay throughput over the public corpus.
// Usage: npm run bench:decide [-- --rounds N --json --analyzer evidence|threshold]
//
// The evidence analyzer classifies each distinct text (a log line, a probe detail, a status-page
// incident) once and caches it, and a replay repeats its texts cycle after cycle: `warm` is that
// case (the corpus driven once unmeasured, then measured). In a real outage new log lines arrive
// every cycle: `cold` gives every free-text field a distinct token each cycle, so nothing is
// cached, and checks that the token changed no decision.
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { createAnalyzer, type AnalyzerName } from '../src/analysis/index.js';
import { defaultConfig } from '../src/config/index.js';
import { DecisionEngine } from '../src/decision/index.js';
import { findScenarioFiles, loadScenarioFile, replayScenario } from '../src/replay/index.js';
import type { IncidentContext, SignalSnapshot } from '../src/core/index.js';

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1]) || 20;
const json = args.includes('--json');
const analyzer = (
  args.includes('--analyzer') ? args[args.indexOf('--analyzer') + 1] : 'evidence'
) as AnalyzerName;
// Run from the repository root (npm run does); the corpus lives beside it in ../shared.
const corpus = resolve(process.cwd(), '../shared/scenarios/public');
const scenarios = findScenarioFiles([corpus]).map(loadScenarioFile);
const config = defaultConfig();

/** The keys whose strings are free text an analyzer reads (not enums such as a status or a kind). */
const FREE_TEXT = new Set(['line', 'detail', 'description', 'name', 'body', 'message']);

/**
 * A copy with a token appended to every free-text string. The token (`q<base36>z`) is one word
 * no pattern of the analyzer knows, and glued letters and digits never form a status code.
 */
function distinct<T>(value: T, token: string, key = ''): T {
  if (typeof value === 'string') return (FREE_TEXT.has(key) ? `${value} ${token}` : value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => distinct(item, token, key)) as T;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, item]) => [k, distinct(item, token, k)]),
  ) as T;
}

interface Pass {
  samples: number[];
  actions: string[];
}

/** Drives the engine through every cycle of every scenario; `fresh` gives each cycle its own texts. */
async function drive(fresh: boolean, counter: { n: number }): Promise<Pass> {
  const pass: Pass = { samples: [], actions: [] };
  for (const scenario of scenarios) {
    const engine = new DecisionEngine(
      { ...config, topology: scenario.topology },
      createAnalyzer(analyzer, config),
      scenario.topology,
    );
    const signals: SignalSnapshot = {};
    const context: IncidentContext = {};
    let step = 0;
    for (let now = 0; now <= scenario.duration; now += scenario.interval) {
      while (step < scenario.steps.length && scenario.steps[step].at <= now) {
        Object.assign(signals, scenario.steps[step].signals ?? {});
        Object.assign(context, scenario.steps[step].context ?? {});
        step++;
      }
      const token = `q${(counter.n++).toString(36)}z`;
      const input = fresh
        ? { now, signals: distinct(signals, token), context: distinct(context, token) }
        : { now, signals, context };
      const start = performance.now();
      const result = await engine.cycle(input);
      pass.samples.push(performance.now() - start);
      pass.actions.push(result.decision.action);
    }
  }
  return pass;
}

function percentiles(samples: number[]): { p50_ms: number; p99_ms: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  return { p50_ms: Number(pct(50).toFixed(3)), p99_ms: Number(pct(99).toFixed(3)) };
}

/** Whole replays, as `phoenix replay` runs them (warm: the texts repeat). */
async function throughput(): Promise<{ cycles: number; per_s: number }> {
  let cycles = 0;
  const start = performance.now();
  for (let round = 0; round < rounds; round++)
    for (const scenario of scenarios)
      cycles += (await replayScenario(scenario, { config, analyzer: () => createAnalyzer(analyzer, config) }))
        .cycles.length;
  return { cycles, per_s: Math.round(cycles / ((performance.now() - start) / 1000)) };
}

const counter = { n: 0 };
const reference = await drive(false, counter); // also warms the cache
const warm: number[] = [];
const cold: number[] = [];
let coldChanged = 0;
for (let round = 0; round < Math.max(1, Math.floor(rounds / 4)); round++) {
  warm.push(...(await drive(false, counter)).samples);
  const fresh = await drive(true, counter);
  cold.push(...fresh.samples);
  coldChanged += fresh.actions.filter((action, i) => action !== reference.actions[i]).length;
}
const replay = await throughput();
const w = percentiles(warm);
const c = percentiles(cold);
const out = {
  analyzer,
  scenarios: scenarios.length,
  decision_p50_ms: w.p50_ms,
  decision_p99_ms: w.p99_ms,
  cold_decision_p50_ms: c.p50_ms,
  cold_decision_p99_ms: c.p99_ms,
  cold_cycles: cold.length,
  cold_decisions_changed: coldChanged,
  replay_cycles: replay.cycles,
  replay_cycles_per_s: replay.per_s,
};
if (json) console.log(JSON.stringify(out));
else
  console.log(
    `${out.analyzer}: warm (texts seen before) p50 ${w.p50_ms} ms, p99 ${w.p99_ms} ms; ` +
      `cold (distinct text each cycle) p50 ${c.p50_ms} ms, p99 ${c.p99_ms} ms over ${cold.length} cycles ` +
      `(${coldChanged} decisions changed by the distinct text); replay ${replay.per_s} cycles/s (${replay.cycles} cycles, warm)`,
  );
