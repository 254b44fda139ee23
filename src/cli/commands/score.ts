import type { Command } from 'commander';
import { loadConfigReadingSecrets } from './config-secrets.js';
import { ANALYZER_NAMES, type AnalyzerName } from '../../analysis/index.js';
import { buildController } from '../../controller/index.js';
import { UserError } from '../errors.js';
import { formatCycle } from './probe-output.js';
import { print } from '../output.js';

export function registerScore(program: Command): void {
  program
    .command('score')
    .description('run the probes once and print the signals, the score, the level and the decision')
    .requiredOption('--config <file>', 'YAML configuration file')
    .option('--analyzer <name>', `analyzer to use (${ANALYZER_NAMES.join(', ')}); default: decision.analyzer`)
    .option('--record', 'also store the cycle in the history (store.path)')
    .option('--json', 'print the cycle as JSON')
    .action(async (options: { config: string; analyzer?: string; record?: boolean; json?: boolean }) => {
      const config = await loadConfigReadingSecrets(options.config);
      if (options.analyzer && !ANALYZER_NAMES.includes(options.analyzer as AnalyzerName))
        throw new UserError(
          `--analyzer "${options.analyzer}" is not known; use one of ${ANALYZER_NAMES.join(', ')}`,
        );
      let built;
      try {
        built = await buildController(config, {
          analyzer: options.analyzer as AnalyzerName | undefined,
          record: Boolean(options.record),
        });
      } catch (error) {
        throw new UserError((error as Error).message);
      }
      try {
        const record = await built.controller.runCycleNow('score');
        if (options.json) {
          const { context: _context, ...rest } = record;
          print(JSON.stringify(rest) + '\n');
        } else {
          print(
            formatCycle(record, {
              header: `${options.config}: one cycle with analyzer ${built.controller.analyzerName}`,
            }) + '\n',
          );
        }
      } finally {
        await built.shutdown();
      }
    });
}
