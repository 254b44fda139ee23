import type { Command } from 'commander';
import {
  ConfigError,
  configReferences,
  formatIssue,
  interpolateReferences,
  loadConfig,
  readConfigDocument,
  runbooksFilePath,
  type ConfigIssue,
  type PhoenixConfig,
} from '../../config/index.js';
import { print, printErr } from '../output.js';

type Located = ConfigIssue & { file: string };
type Warning = { path: string; message: string };

interface Check {
  problems: Located[];
  /** Steps a drill would skip (no drill behaviour): the configuration is valid, the drill is partial. */
  warnings: Warning[];
  config?: PhoenixConfig;
}

/**
 * Every runbook step's parameters, checked against its step type's schema (as `phoenix plan` does), the
 * runbook lint, and whether each step can rehearse itself in a drill.
 */
async function runbookIssues(config: PhoenixConfig): Promise<Omit<Check, 'config'>> {
  if (!config.raw.runbooks) return { problems: [], warnings: [] };
  // The step types pull in cloud SDKs; load them only when there are runbooks to check.
  const { buildPlan, configuredRunbooks, drillGaps, lintRunbooks, loadRunbooks, PlanError } =
    await import('../../runbook/index.js');
  const problems: Located[] = [];
  const warnings: Warning[] = [];
  const source = config.file ?? '<config>';
  try {
    for (const name of configuredRunbooks(config)) {
      try {
        warnings.push(...drillGaps(buildPlan(config, name)));
      } catch (error) {
        if (!(error instanceof PlanError)) throw error;
        problems.push(...error.issues.map((i) => ({ ...i, file: error.source })));
      }
    }
    const runbooks = loadRunbooks(config);
    for (const finding of lintRunbooks(runbooks, config.topology))
      problems.push({ path: finding.path, message: finding.message, file: source });
    // With probes that follow the serving site, a self_heal is decided for whichever site serves.
    if (config.site_probes && runbooks.self_heal && !runbooks.self_heal.site)
      problems.push({
        path: 'runbooks.self_heal.site',
        message:
          'the probes follow the serving site (probes.sites), so a self_heal can be decided while DR serves: say which site its steps act on (site: primary, or dr); it runs only while that site serves, and is refused with the reason otherwise',
        file: source,
      });
  } catch (error) {
    // The runbooks file itself is unreadable or invalid.
    if (!(error instanceof PlanError)) throw error;
    problems.push(...error.issues.map((i) => ({ ...i, file: error.source })));
  }
  return { problems, warnings };
}

/** The configuration and its runbooks, loaded offline (the file alone) or with this environment. */
async function check(file: string, offline: boolean): Promise<Check> {
  let config: PhoenixConfig;
  try {
    config = loadConfig(file, process.env, { offline });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { problems: error.issues.map((i) => ({ ...i, file })), warnings: [] };
  }
  return { ...(await runbookIssues(config)), config };
}

/**
 * Secrets the DR failover needs (its runbook in the main file or `runbooks.file`) that are held only in the
 * primary region: valid, but lost with that region. A Key Vault secret, or a Secrets Manager secret with a
 * replica in another region (DescribeSecret), passes.
 */
async function secretWarnings(config: PhoenixConfig): Promise<Warning[]> {
  const { findReferences, runbookSecretsOnlyInPrimary, secretRegions, secretStoreOptions } =
    await import('../../secrets/index.js');
  const { loadRunbooks } = await import('../../runbook/index.js');
  let dr: unknown;
  try {
    dr = loadRunbooks(config).dr_failover;
  } catch {
    return []; // the runbooks file's own problems are reported above
  }
  const refs = [...findReferences(dr).values()];
  if (!refs.some((r) => typeof r !== 'string' && r.store === 'aws-sm')) return [];
  const found = await runbookSecretsOnlyInPrimary(
    { dr_failover: dr },
    config.topology.primary.region,
    secretRegions(secretStoreOptions(config.raw.secrets, config.topology).aws),
  );
  return [...found].flatMap(([runbook, warnings]) =>
    warnings.map((message) => ({ path: `runbooks.${runbook}`, message })),
  );
}

/**
 * Every secret reference (main file and `runbooks.file`) read through its store's SDK, as `phoenix run` will:
 * each one that cannot be read is an environment problem where it sits, saying what failed (DNS, the
 * connection, the identity, no such secret). The values are dropped as soon as they are read.
 */
async function readSecrets(config: PhoenixConfig): Promise<{ read: number; problems: Located[] }> {
  const refs = configReferences(config);
  if (!refs.length || !config.file) return { read: 0, problems: [] };
  const { SecretCache, secretReader, secretStoreOptions } = await import('../../secrets/index.js');
  const cache = new SecretCache(secretReader(secretStoreOptions(config.raw.secrets, config.topology)));
  await cache.load(refs).catch(() => undefined);
  // Only whether each was read matters here; an empty string stands in for every value.
  const readable = new Map(refs.filter((r) => cache.get(r.text) !== undefined).map((r) => [r.text, '']));
  const problems: Located[] = [];
  for (const file of [config.file, runbooksFilePath(config)]) {
    if (!file) continue;
    let document: unknown;
    try {
      document = readConfigDocument(file);
    } catch {
      continue; // the runbooks file's own problems are reported with the runbooks
    }
    const issues: ConfigIssue[] = [];
    // `offline`: unset variables are the other check's; only the secrets are looked at here.
    const options = { env: process.env, offline: true, secrets: readable, failures: cache.failures };
    interpolateReferences(document, [], options, issues);
    problems.push(...issues.filter((i) => i.kind === 'environment').map((i) => ({ ...i, file })));
  }
  return { read: readable.size, problems };
}

const key = (i: Located) => `${i.file}\n${i.path}\n${i.message}`;

interface Result {
  file: string;
  offline: boolean;
  fileProblems: Located[];
  environment: Located[];
  /** Steps a drill would skip. */
  drill: Warning[];
  /** Secrets a failover needs that live only in the primary region. */
  secrets: Warning[];
  /** How many secret references were read (without --offline). */
  secretsRead: number;
  config?: PhoenixConfig;
}

/** The file alone first; then, unless offline, what this environment adds (unset variables, unread secrets). */
async function validate(file: string, offline: boolean): Promise<Result> {
  const alone = await check(file, true);
  let environment: Located[] = [];
  let secrets: Warning[] = [];
  let secretsRead = 0;
  if (!offline && alone.problems.length === 0) {
    const here = await check(file, false);
    const known = new Set(alone.problems.map(key));
    environment = here.problems.filter((p) => !known.has(key(p)));
    if (alone.config) {
      const read = await readSecrets(alone.config);
      secretsRead = read.read;
      environment.push(...read.problems);
    }
    // Where each secret is held is worth knowing even while one of them cannot be read here.
    if (here.config) secrets = await secretWarnings(here.config);
  }
  return {
    file,
    offline,
    fileProblems: alone.problems,
    environment,
    drill: alone.warnings,
    secrets,
    secretsRead,
    config: alone.config,
  };
}

function printText(r: Result): void {
  const out = (line: string) => printErr(line + '\n');
  for (const issue of r.fileProblems) out(formatIssue(issue.file, issue));
  for (const issue of r.environment)
    out(formatIssue(issue.file, { ...issue, message: `environment: ${issue.message}` }));
  for (const w of r.secrets) out(`${r.file}: warning: ${w.path}: ${w.message}`);
  for (const w of r.drill) out(`${r.file}: warning (drill): ${w.path}: ${w.message}`);
  if (r.fileProblems.length || !r.config) return;
  const c = r.config;
  const what = `${Object.keys(c.scoring.signals).length} scored signals, analyzer ${c.decision.analyzer}, interval ${c.interval_s}s`;
  const env = r.offline
    ? 'environment not checked (--offline)'
    : r.environment.length
      ? `this environment is NOT ready (${r.environment.length} problem(s) above marked environment)`
      : `environment ready${r.secretsRead ? ` (${r.secretsRead} secret${r.secretsRead === 1 ? '' : 's'} read)` : ''}`;
  print(`${r.file}: valid (${what}); ${env}\n`);
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description(
      'check a configuration file and its runbooks (shape, ranges, runbook lint); without --offline also the environment (variables set, every secret reference readable), and say which is which',
    )
    .argument('<file>', 'YAML configuration file')
    .option(
      '--offline',
      'check the files alone: unset variables and secrets are not looked at, no store is asked (for CI)',
    )
    .option('--json', 'print the result as JSON')
    .action(async (file: string, options: { json?: boolean; offline?: boolean }) => {
      const r = await validate(file, options.offline ?? false);
      if (options.json) {
        const strip = ({ path, message }: Located) => ({ path, message });
        print(
          JSON.stringify({
            file,
            valid: r.fileProblems.length === 0,
            problems: r.fileProblems.map(strip),
            // Only when looked at / when there are some: the shape of a clean offline result stays small.
            ...(r.offline
              ? {}
              : {
                  ready: r.fileProblems.length === 0 && r.environment.length === 0,
                  secrets_read: r.secretsRead,
                }),
            ...(r.environment.length ? { environment: r.environment.map(strip) } : {}),
            ...(r.drill.length || r.secrets.length ? { warnings: [...r.drill, ...r.secrets] } : {}),
          }) + '\n',
        );
      } else printText(r);
      // 2: the file is wrong; 3: the file is fine, this environment cannot run it yet.
      if (r.fileProblems.length) process.exitCode = 2;
      else if (r.environment.length) process.exitCode = 3;
    });
}
