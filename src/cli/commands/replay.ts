import type { Command } from 'commander';
import { ANALYZER_NAMES, createAnalyzer, type AnalyzerName } from '../../analysis/index.js';
import { defaultConfig, loadConfig, type PhoenixConfig } from '../../config/index.js';
import {
  findScenarioFiles,
  formatResult,
  formatSummary,
  loadScenarioFile,
  replayScenario,
  summarize,
  type ReplayResult,
  type Scenario,
} from '../../replay/index.js';
import { UserError } from '../errors.js';
import { print } from '../output.js';

interface ReplayFlags {
  json?: boolean;
  check?: boolean;
  analyzer?: string;
  config?: string;
  baseline?: boolean;
  verbose?: boolean;
}

async function runAll(
  scenarios: Scenario[],
  config: PhoenixConfig,
  analyzer: AnalyzerName,
): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for (const scenario of scenarios) {
    results.push(
      await replayScenario(scenario, { config, analyzer: () => createAnalyzer(analyzer, config) }),
    );
  }
  return results;
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('replay recorded incident scenarios through the decision core on a virtual clock')
    .argument('<paths...>', 'scenario files or directories (searched recursively for *.yaml, *.yml, *.json)')
    .option('--json', 'print one JSON object per scenario (NDJSON)')
    .option('--check', 'exit 1 when any scenario is not met')
    .option(
      '--analyzer <name>',
      `analyzer to use: ${ANALYZER_NAMES.join(', ')} (default: the config's, else evidence)`,
    )
    .option('--config <file>', 'configuration file (weights, levels, decision rules)')
    .option('--no-baseline', 'do not replay the threshold baseline beside it in the summary')
    .option('--verbose', 'print every cycle, not only the decided actions')
    .action(async (paths: string[], flags: ReplayFlags) => {
      const config = flags.config ? loadConfig(flags.config) : defaultConfig();
      const analyzer = (flags.analyzer ?? config.decision.analyzer) as AnalyzerName;
      if (!ANALYZER_NAMES.includes(analyzer)) {
        throw new UserError(`unknown analyzer "${flags.analyzer}"; use one of: ${ANALYZER_NAMES.join(', ')}`);
      }
      const files = findScenarioFiles(paths);
      if (files.length === 0)
        throw new UserError(`no scenario files (*.yaml, *.yml, *.json) under ${paths.join(', ')}`);
      const scenarios = files.map(loadScenarioFile);
      const results = await runAll(scenarios, config, analyzer);

      if (flags.json) {
        for (const r of results) {
          const line = {
            scenario: r.scenario,
            file: r.file,
            decisions: r.decisions,
            met: r.met,
            problems: r.problems,
          };
          print(JSON.stringify(line) + '\n');
        }
      } else {
        for (const r of results) {
          print(formatResult(r, process.stdout.columns || 120) + '\n');
          if (flags.verbose) {
            for (const c of r.cycles) {
              print(
                `      t=${c.at}s ${c.action} score=${c.score} ${c.category}/${c.confidence} ${c.reason}\n`,
              );
            }
          }
        }
        print('\n' + formatSummary(summarize(analyzer, results)) + '\n');
        if (flags.baseline !== false && analyzer !== 'threshold') {
          const baseline = await runAll(scenarios, config, 'threshold');
          print(formatSummary(summarize('threshold', baseline)) + '  (naive baseline)\n');
        }
      }
      if (flags.check && results.some((r) => !r.met)) process.exitCode = 1;
    });
}
