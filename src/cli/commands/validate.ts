import type { Command } from 'commander';
import { ConfigError, formatIssue, loadConfig } from '../../config/index.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a configuration file and report every problem with its path and the fix')
    .argument('<file>', 'YAML configuration file')
    .option('--json', 'print the result as JSON')
    .action((file: string, options: { json?: boolean }) => {
      try {
        const config = loadConfig(file);
        if (options.json) {
          process.stdout.write(JSON.stringify({ file, valid: true, problems: [] }) + '\n');
        } else {
          const signals = Object.keys(config.scoring.signals).length;
          process.stdout.write(
            `${file}: valid (${signals} scored signals, analyzer ${config.decision.analyzer}, interval ${config.interval_s}s)\n`,
          );
        }
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        if (options.json) {
          process.stdout.write(JSON.stringify({ file, valid: false, problems: error.issues }) + '\n');
        } else {
          for (const issue of error.issues) process.stderr.write(formatIssue(file, issue) + '\n');
        }
        process.exitCode = 2;
      }
    });
}
