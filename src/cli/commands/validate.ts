import type { Command } from 'commander';
import {
  ConfigError,
  formatIssue,
  loadConfig,
  type ConfigIssue,
  type PhoenixConfig,
} from '../../config/index.js';
import { print, printErr } from '../output.js';

interface RunbookCheck {
  problems: { file: string; issues: ConfigIssue[] }[];
  /** Steps a drill would skip (no drill behaviour): the configuration is valid, the drill is partial. */
  warnings: { path: string; message: string }[];
}

/**
 * Every runbook step's parameters, checked against its step type's schema (as `phoenix plan` does), and
 * whether each step can rehearse itself in a drill.
 */
async function runbookIssues(config: PhoenixConfig): Promise<RunbookCheck> {
  if (!config.raw.runbooks) return { problems: [], warnings: [] };
  // The step types pull in cloud SDKs; load them only when there are runbooks to check.
  const { buildPlan, configuredRunbooks, drillGaps, PlanError } = await import('../../runbook/index.js');
  const found: { file: string; issues: ConfigIssue[] }[] = [];
  const warnings: RunbookCheck['warnings'] = [];
  try {
    for (const name of configuredRunbooks(config)) {
      try {
        warnings.push(...drillGaps(buildPlan(config, name)));
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
  return { problems: found, warnings };
}

/** Secrets a runbook needs that are held only in the primary region: valid, but lost with that region. */
async function secretWarnings(config: PhoenixConfig): Promise<Array<{ path: string; message: string }>> {
  const { findReferences, runbookSecretsOnlyInPrimary, secretRegions } =
    await import('../../secrets/index.js');
  const refs = [...findReferences(config.raw.runbooks).values()];
  if (!refs.some((r) => typeof r !== 'string' && r.store === 'aws-sm')) return [];
  const found = await runbookSecretsOnlyInPrimary(
    config.raw.runbooks,
    config.topology.primary.region,
    secretRegions(),
  );
  return [...found].flatMap(([runbook, warnings]) =>
    warnings.map((message) => ({ path: `runbooks.${runbook}`, message })),
  );
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
      let warnings: RunbookCheck['warnings'] = [];
      let config: PhoenixConfig | undefined;
      try {
        config = loadConfig(file);
        ({ problems, warnings } = await runbookIssues(config));
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems = [{ file, issues: error.issues }];
      }
      const flat = problems.flatMap((p) => p.issues.map((issue) => ({ ...issue, file: p.file })));
      const secrets = config && flat.length === 0 ? await secretWarnings(config) : [];
      if (options.json) {
        print(
          JSON.stringify({
            file,
            valid: flat.length === 0,
            problems: flat.map(({ path, message }) => ({ path, message })),
            // Only when there are some: the shape of a clean result stays as it was.
            ...(warnings.length || secrets.length ? { warnings: [...warnings, ...secrets] } : {}),
          }) + '\n',
        );
      } else if (flat.length === 0 && config) {
        const signals = Object.keys(config.scoring.signals).length;
        print(
          `${file}: valid (${signals} scored signals, analyzer ${config.decision.analyzer}, interval ${config.interval_s}s)\n`,
        );
        for (const w of secrets) printErr(`${file}: warning: ${w.path}: ${w.message}\n`);
      } else {
        for (const issue of flat) printErr(formatIssue(issue.file, issue) + '\n');
      }
      if (!options.json)
        for (const w of warnings) printErr(`${file}: warning (drill): ${w.path}: ${w.message}\n`);
      if (flat.length) process.exitCode = 2;
    });
}
