// Decision time per cycle (p50/p99) and replay throughput over the public corpus.
// Usage: npm run bench:decide [-- --rounds N --json]
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

// Per-cycle latency: drive the engine directly with each scenario's snapshots.
const samples: number[] = [];
for (let round = 0; round < Math.max(1, Math.floor(rounds / 4)); round++) {
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
      const start = performance.now();
      await engine.cycle({ now, signals, context });
      samples.push(performance.now() - start);
    }
  }
}
samples.sort((a, b) => a - b);
const pct = (p: number): number =>
  samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))];

// Throughput: whole replays, as `phoenix replay` runs them.
let cycles = 0;
const start = performance.now();
for (let round = 0; round < rounds; round++) {
  for (const scenario of scenarios) {
    const result = await replayScenario(scenario, {
      config,
      analyzer: () => createAnalyzer(analyzer, config),
    });
    cycles += result.cycles.length;
  }
}
const seconds = (performance.now() - start) / 1000;
const out = {
  analyzer,
  scenarios: scenarios.length,
  decision_p50_ms: Number(pct(50).toFixed(3)),
  decision_p99_ms: Number(pct(99).toFixed(3)),
  replay_cycles: cycles,
  replay_cycles_per_s: Math.round(cycles / seconds),
};
if (json) console.log(JSON.stringify(out));
else
  console.log(
    `${out.analyzer}: decision p50 ${out.decision_p50_ms} ms, p99 ${out.decision_p99_ms} ms over ${samples.length} cycles; replay ${out.replay_cycles_per_s} cycles/s (${cycles} cycles)`,
  );
