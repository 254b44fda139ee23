import type { Command } from 'commander';
import {
  ConfigError,
  formatIssue,
  loadConfig,
  type ConfigIssue,
  type PhoenixConfig,
} from '../../config/index.js';

/** Every runbook step's parameters, checked against its step type's schema (as `phoenix plan` does). */
async function runbookIssues(config: PhoenixConfig): Promise<{ file: string; issues: ConfigIssue[] }[]> {
  if (!config.raw.runbooks) return [];
  // The step types pull in cloud SDKs; load them only when there are runbooks to check.
  const { buildPlan, configuredRunbooks, PlanError } = await import('../../runbook/index.js');
  const found: { file: string; issues: ConfigIssue[] }[] = [];
  try {
    for (const name of configuredRunbooks(config)) {
      try {
        buildPlan(config, name);
      } catch (error) {
        if (!(error instanceof PlanError)) throw error;
        found.push({ file: error.source, issues: error.issues });
      }
    }
  } catch (error) {
    // The runbooks file itself is unreadable or invalid.
    if (!(error instanceof PlanError)) throw error;
    found.push({ file: error.source, issues: error.issues });
  }
  return found;
}

/** Secrets a runbook needs that are held only in the primary region: valid, but lost with that region. */
async function secretWarnings(config: PhoenixConfig): Promise<string[]> {
  const { findReferences, runbookSecretsOnlyInPrimary, secretRegions } =
    await import('../../secrets/index.js');
  const refs = [...findReferences(config.raw.runbooks).values()];
  if (!refs.some((r) => typeof r !== 'string' && r.store === 'aws-sm')) return [];
  const found = await runbookSecretsOnlyInPrimary(
    config.raw.runbooks,
    config.topology.primary.region,
    secretRegions(),
  );
  return [...found].flatMap(([runbook, warnings]) => warnings.map((w) => `runbooks.${runbook}: ${w}`));
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description(
      'check a configuration file (and its runbooks) and report every problem with its path and the fix',
    )
    .argument('<file>', 'YAML configuration file')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, options: { json?: boolean }) => {
      let problems: { file: string; issues: ConfigIssue[] }[];
      let config: PhoenixConfig | undefined;
      try {
        config = loadConfig(file);
        problems = await runbookIssues(config);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems = [{ file, issues: error.issues }];
      }
      const flat = problems.flatMap((p) => p.issues.map((issue) => ({ ...issue, file: p.file })));
      const warnings = config && flat.length === 0 ? await secretWarnings(config) : [];
      if (options.json) {
        process.stdout.write(
          JSON.stringify({
            file,
            valid: flat.length === 0,
            problems: flat.map(({ path, message }) => ({ path, message })),
            ...(warnings.length ? { warnings } : {}),
          }) + '\n',
        );
      } else if (flat.length === 0 && config) {
        const signals = Object.keys(config.scoring.signals).length;
        process.stdout.write(
          `${file}: valid (${signals} scored signals, analyzer ${config.decision.analyzer}, interval ${config.interval_s}s)\n`,
        );
        for (const warning of warnings) process.stderr.write(`${file}: warning: ${warning}\n`);
      } else {
        for (const issue of flat) process.stderr.write(formatIssue(issue.file, issue) + '\n');
      }
      if (flat.length) process.exitCode = 2;
    });
}
