import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import {
  LEVELS,
  ROOT_CAUSE_CATEGORIES,
  parseDuration,
  type Level,
  type RootCauseCategory,
} from '../../core/index.js';
import { loadConfig, type PhoenixConfig } from '../../config/index.js';
import type { HistoryStore } from '../../store/index.js';
import { openHistory } from '../../controller/index.js';
import { exportScenario, type ScenarioExpectationInput } from '../../replay/index.js';
import { UserError } from '../errors.js';
import { printErr } from '../output.js';

interface ExportFlags {
  config: string;
  from: string;
  to: string;
  expect?: string;
  by?: string;
  notBefore?: string;
  category?: string;
  why?: string;
  name?: string;
  out?: string;
  json?: boolean;
}

/** More cycles than a week at a 10 s interval: a range this large is a mistake, not an incident. */
const MAX_CYCLES = 100_000;

const iso = (unix: number): string => new Date(unix * 1000).toISOString();

/** Unix seconds from `1764608400` (Unix seconds) or an ISO-8601 time such as `2026-12-01T17:00:00Z`. */
export function parseTime(text: string, flag: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const ms = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)
    ? Date.parse(trimmed)
    : NaN;
  if (Number.isNaN(ms))
    throw new UserError(
      `${flag} "${text}" is not a time; write ISO-8601 (2026-12-01T17:00:00Z) or Unix seconds (1764608400)`,
    );
  return ms / 1000;
}

function durationFlag(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(text);
  } catch {
    throw new UserError(`${flag} "${text}" is not a duration; write seconds or 45s, 5m, 1h30m`);
  }
}

function expectationFrom(flags: ExportFlags): ScenarioExpectationInput | undefined {
  const extras = flags.by ?? flags.notBefore ?? flags.category ?? flags.why;
  if (!flags.expect) {
    if (extras !== undefined)
      throw new UserError(
        '--by, --not-before, --category and --why qualify --expect ACTION; give --expect too',
      );
    return undefined;
  }
  if (!(LEVELS as readonly string[]).includes(flags.expect))
    throw new UserError(`--expect "${flags.expect}" is not an action; use one of: ${LEVELS.join(', ')}`);
  if (flags.category && !(ROOT_CAUSE_CATEGORIES as readonly string[]).includes(flags.category))
    throw new UserError(
      `--category "${flags.category}" is not a category; use one of: ${ROOT_CAUSE_CATEGORIES.join(', ')}`,
    );
  return {
    action: flags.expect as Level,
    by: durationFlag(flags.by, '--by'),
    not_before: durationFlag(flags.notBefore, '--not-before'),
    category: flags.category as RootCauseCategory | undefined,
    why: flags.why,
  };
}

/** The store the configured controller records into; it must exist already. */
async function openRecording(config: PhoenixConfig, configFile: string): Promise<HistoryStore> {
  if (config.store.driver === 'sqlite' && config.store.path !== ':memory:' && !existsSync(config.store.path))
    throw new UserError(
      `no history at ${config.store.path}; the controller configured by ${configFile} has recorded nothing`,
    );
  try {
    return await openHistory(config);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
}

async function run(flags: ExportFlags): Promise<void> {
  const from = parseTime(flags.from, '--from');
  const to = parseTime(flags.to, '--to');
  if (to < from) throw new UserError(`--to (${iso(to)}) is before --from (${iso(from)}); swap them`);
  const expect = expectationFrom(flags);
  if (flags.name !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(flags.name))
    throw new UserError(`--name "${flags.name}" is not a slug; use lower-case letters, digits and dashes`);
  const config = loadConfig(flags.config);
  const history = await openRecording(config, flags.config);
  const path = history.db.describe();
  try {
    const cycles = await history.cycles({ since: from, until: to, limit: MAX_CYCLES + 1 });
    if (cycles.length === 0) {
      const newest = await history.latest();
      throw new UserError(
        `no cycles recorded between ${iso(from)} and ${iso(to)} in ${path}` +
          (newest
            ? `; it holds ${(await history.count()).cycles} cycles, the newest at ${iso(newest.at)} (${Math.floor(newest.at)})`
            : '; it holds no cycles yet'),
      );
    }
    if (cycles.length > MAX_CYCLES)
      throw new UserError(
        `more than ${MAX_CYCLES} cycles in that range; export a shorter one (the incident)`,
      );
    const result = exportScenario(cycles, {
      name: flags.name,
      interval_s: config.interval_s,
      topology: config.topology,
      origin: path,
      expect,
    });
    for (const warning of result.warnings) printErr(`phoenix: note: ${warning}\n`);
    const text = flags.json
      ? JSON.stringify(result.document, null, 2) + '\n'
      : stringify(result.document, { lineWidth: 0 });
    if (flags.out) {
      writeFileSync(flags.out, text);
      printErr(
        `phoenix: ${cycles.length} cycles written to ${flags.out} (offset 0 = ${iso(result.start)}); replay it with: phoenix replay ${flags.out} --config ${flags.config}\n`,
      );
    } else process.stdout.write(text);
  } finally {
    await history.db.close();
  }
}

export function registerExportScenario(program: Command): void {
  program
    .command('export-scenario')
    .description(
      'turn a recorded time range of the history store into a scenario file that phoenix replay runs',
    )
    .requiredOption(
      '--config <file>',
      'YAML configuration of the controller that recorded (store, interval, topology)',
    )
    .requiredOption('--from <time>', 'start of the range: ISO-8601 (2026-12-01T17:00:00Z) or Unix seconds')
    .requiredOption('--to <time>', 'end of the range (inclusive), same formats')
    .option(
      '--expect <action>',
      `the wanted outcome: ${LEVELS.join(' | ')} (default: what the live run decided)`,
    )
    .option('--by <duration>', 'with --expect: must be decided by this offset (e.g. 6m)')
    .option('--not-before <duration>', 'with --expect: deciding earlier is premature')
    .option('--category <category>', 'with --expect: the expected root-cause category')
    .option('--why <text>', 'with --expect: the reasoning a senior SRE would give')
    .option('--name <slug>', 'scenario name (default recorded-<start time>)')
    .option('--out <file>', 'write the scenario here instead of standard output')
    .option('--json', 'write JSON instead of YAML')
    .action((flags: ExportFlags) => run(flags));
}
