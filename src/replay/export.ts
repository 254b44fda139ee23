import type {
  AwsHealthEvent,
  AwsHealthFeed,
  ChangeRecord,
  IncidentContext,
  Level,
  LogLine,
  RootCauseCategory,
  SignalSnapshot,
  StatusFeed,
  StatusIncident,
  Topology,
} from '../core/index.js';
import { LEVELS } from '../core/index.js';
import { parseScenario } from './scenario.js';

/** What the export reads of one recorded cycle: the history store's `CycleRecord` has these fields. */
export interface RecordedCycle {
  /** Unix seconds when the cycle started. */
  at: number;
  signals: SignalSnapshot;
  /** What the context gatherers returned; absent when the cycle did not ask (score at level none). */
  context?: IncidentContext;
  decision: { action: string; category: string; confidence: string };
}

export interface ScenarioExpectationInput {
  action: Level;
  by?: number;
  not_before?: number;
  category?: RootCauseCategory;
  why?: string;
}

export interface ExportOptions {
  /** Slug for `name`; default `recorded-<first cycle's UTC time>`. */
  name?: string;
  /** The controller's interval (config `interval`): the replay's cycle length. */
  interval_s: number;
  topology: Topology;
  /** Where the cycles came from, for `source`. */
  origin?: string;
  /** Default: the most drastic action the live controller decided, marked as such in `why`. */
  expect?: ScenarioExpectationInput;
}

export interface ExportResult {
  /** A scenario document (format v1.1), valid against the scenario schema. */
  document: Record<string, unknown>;
  /** What the scenario format could not carry exactly, one line each. */
  warnings: string[];
  /** Unix seconds of the cycle at offset 0. */
  start: number;
}

/** The scenario schema's lower bound for a time offset (a day before the start). */
const EARLIEST_OFFSET = -86400;

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** Serializes for comparison; key order is the recorder's and stable between cycles. */
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

class OffsetClock {
  constructor(
    readonly start: number,
    private readonly warnings: Set<string>,
  ) {}

  /** A Unix time as an offset from the first cycle, clamped to what the format accepts. */
  offset(unix: number | undefined): number | undefined {
    if (typeof unix !== 'number' || !Number.isFinite(unix)) return undefined;
    const offset = round3(unix - this.start);
    if (offset >= EARLIEST_OFFSET) return offset;
    this.warnings.add(
      `a time more than a day before the first cycle was clamped to -1d (the scenario format's limit)`,
    );
    return EARLIEST_OFFSET;
  }
}

/**
 * The fields the scenario format defines for one item, in that order, with its time (if any)
 * turned into an offset; whatever else the live source added stays out.
 */
function pick<T extends object>(
  item: T,
  keys: ReadonlyArray<keyof T>,
  clock: OffsetClock,
  time?: keyof T,
): T {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = key === time ? clock.offset(item[key] as number | undefined) : item[key];
    if (value !== undefined) out[key as string] = value;
  }
  return out as T;
}

const EVENT_FIELDS: ReadonlyArray<keyof AwsHealthEvent> = [
  'service',
  'region',
  'eventTypeCode',
  'eventTypeCategory',
  'statusCode',
  'startTime',
  'description',
];
const INCIDENT_FIELDS: ReadonlyArray<keyof StatusIncident> = [
  'name',
  'status',
  'impact',
  'components',
  'started',
  'body',
];
const CHANGE_FIELDS: ReadonlyArray<keyof ChangeRecord> = ['at', 'kind', 'service', 'description'];
const LOG_FIELDS: ReadonlyArray<keyof LogLine> = ['service', 'level', 'line'];

function healthFeed(feed: AwsHealthFeed, clock: OffsetClock): AwsHealthFeed {
  const out: AwsHealthFeed = { available: feed.available };
  if (feed.events) out.events = feed.events.map((e) => pick(e, EVENT_FIELDS, clock, 'startTime'));
  return out;
}

function statusFeed(feed: StatusFeed, clock: OffsetClock): StatusFeed {
  const out: StatusFeed = { available: feed.available };
  if (feed.incidents) out.incidents = feed.incidents.map((i) => pick(i, INCIDENT_FIELDS, clock, 'started'));
  return out;
}

/**
 * A live context in the scenario format: times as offsets, and only the fields the format defines
 * (a feed's `detail`, a change's `source` and id are for people and the store, not the decision).
 */
function scenarioContext(
  context: IncidentContext,
  clock: OffsetClock,
  warnings: Set<string>,
): IncidentContext {
  const out: IncidentContext = {};
  if (context.aws_health) out.aws_health = healthFeed(context.aws_health, clock);
  if (context.cloudflare) out.cloudflare = statusFeed(context.cloudflare, clock);
  if (context.azure_status) out.azure_status = statusFeed(context.azure_status, clock);
  if (context.metrics)
    out.metrics = Object.fromEntries(
      Object.entries(context.metrics).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)),
    );
  if (context.logs) out.logs = context.logs.map((l) => pick(l, LOG_FIELDS, clock));
  if (context.changes) out.changes = context.changes.map((c) => pick(c, CHANGE_FIELDS, clock, 'at'));
  if (context.status_pages && Object.keys(context.status_pages).length)
    warnings.add(
      `status_pages (${Object.keys(context.status_pages).join(', ')}) left out: the scenario format has no place for further status pages`,
    );
  return out;
}

/**
 * The part of `live` that differs from what is in force: a step lists only what changes (FORMAT.md).
 * Parts the format cannot remove once given are reported; lists are emptied instead.
 */
function contextStep(
  live: IncidentContext,
  inForce: IncidentContext,
  at: number,
  warnings: Set<string>,
): IncidentContext | undefined {
  const step: Record<string, unknown> = {};
  for (const key of ['aws_health', 'cloudflare', 'azure_status', 'logs', 'changes'] as const) {
    const value = live[key];
    if (value === undefined) {
      if (inForce[key] === undefined) continue;
      if (key === 'logs' || key === 'changes') step[key] = [];
      else
        warnings.add(
          `${key} was not gathered at +${at}s after it had been: the scenario carries the earlier one forward`,
        );
      continue;
    }
    if (!same(value, inForce[key])) step[key] = value;
  }
  const metrics = live.metrics ?? {};
  const changed = Object.entries(metrics).filter(([k, v]) => inForce.metrics?.[k] !== v);
  if (changed.length) step.metrics = Object.fromEntries(changed);
  const dropped = Object.keys(inForce.metrics ?? {}).filter((k) => !(k in metrics));
  if (dropped.length)
    warnings.add(
      `metrics ${dropped.join(', ')} missing at +${at}s after they had been gathered: the scenario carries the earlier values forward`,
    );
  return Object.keys(step).length ? (step as IncidentContext) : undefined;
}

/** The same merge the replay applies (replay.ts applyStep), to know what is in force. */
function applyContext(inForce: IncidentContext, step: IncidentContext | undefined): void {
  if (!step) return;
  for (const [key, value] of Object.entries(step)) {
    if (key === 'metrics')
      inForce.metrics = { ...(inForce.metrics ?? {}), ...(value as Record<string, number>) };
    else (inForce as Record<string, unknown>)[key] = value;
  }
}

/** Where each cycle lands on the replay's grid (multiples of the interval from the first cycle). */
function gridOffsets(cycles: RecordedCycle[], interval: number, warnings: Set<string>): number[] {
  const start = cycles[0].at;
  const offsets = cycles.map((c) => Math.round((c.at - start) / interval) * interval);
  let skipped = 0;
  for (let i = 1; i < offsets.length; i++) {
    if (offsets[i] === offsets[i - 1])
      warnings.add(
        `two cycles fall in the slot at +${offsets[i]}s (a cycle run on demand, e.g. by a webhook): the replay sees only the later`,
      );
    else skipped += Math.round((offsets[i] - offsets[i - 1]) / interval) - 1;
  }
  if (skipped)
    warnings.add(
      `${skipped} slot(s) without a recorded cycle (cycles that overran their interval): the replay runs them on the state in force`,
    );
  return offsets;
}

const DRASTIC: readonly string[] = ['dr_failover', 'region_failover', 'self_heal', 'none'];

function defaultExpectation(cycles: RecordedCycle[]): ScenarioExpectationInput {
  const actions = cycles.map((c) => c.decision.action).filter((a) => (LEVELS as string[]).includes(a));
  const action = (DRASTIC.find((a) => actions.includes(a)) ?? 'none') as Level;
  return {
    action,
    why: `the live controller's own decision (${action}), not a reviewed expectation: check it before adding the scenario to a corpus`,
  };
}

function expectation(input: ScenarioExpectationInput): Record<string, unknown> {
  const why = input.why ?? `expected ${input.action}, as given to export-scenario --expect`;
  return Object.fromEntries(Object.entries({ ...input, why }).filter(([, value]) => value !== undefined));
}

function slugTime(unix: number): string {
  return new Date(unix * 1000)
    .toISOString()
    .replace(/\.\d+Z$/, 'z')
    .replace(/[^0-9a-z]/gi, '-')
    .toLowerCase();
}

/** The steps: each cycle's signals and context, listing only what changed since the step before. */
function buildSteps(
  cycles: RecordedCycle[],
  offsets: number[],
  clock: OffsetClock,
  warnings: Set<string>,
): Array<Record<string, unknown>> {
  const steps: Array<Record<string, unknown>> = [];
  const signalsInForce: SignalSnapshot = {};
  const contextInForce: IncidentContext = {};
  cycles.forEach((cycle, i) => {
    const at = offsets[i];
    const signals = Object.fromEntries(
      Object.entries(cycle.signals).filter(([name, s]) => !same(s, signalsInForce[name])),
    );
    Object.assign(signalsInForce, signals);
    const gone = Object.keys(signalsInForce).filter((name) => !(name in cycle.signals));
    if (gone.length)
      warnings.add(
        `signal(s) ${gone.join(', ')} missing at +${at}s: the scenario carries the earlier result forward`,
      );
    const live = cycle.context ? scenarioContext(cycle.context, clock, warnings) : {};
    const context = contextStep(live, contextInForce, at, warnings);
    applyContext(contextInForce, context);
    const d = cycle.decision;
    const step: Record<string, unknown> = { at };
    if (d.action !== 'none') step.note = `live: ${d.action} (${d.category}, ${d.confidence})`;
    if (Object.keys(signals).length) step.signals = signals;
    if (context) step.context = context;
    // A later cycle in the same slot replaces the earlier one, as the replay would see it.
    if (steps.at(-1)?.at === at) steps.pop();
    steps.push(step);
  });
  return steps;
}

/**
 * Turns recorded cycles (oldest first) into a scenario file, so a real incident becomes a test
 * case: `phoenix replay` feeds it back through the same decision core, one cycle per recorded
 * cycle. Times become offsets from the first cycle, placed on the interval's grid.
 */
export function exportScenario(cycles: RecordedCycle[], options: ExportOptions): ExportResult {
  if (cycles.length === 0) throw new Error('no recorded cycles to export');
  const warnings = new Set<string>();
  const start = cycles[0].at;
  const interval = options.interval_s;
  const offsets = gridOffsets(cycles, interval, warnings);
  const steps = buildSteps(cycles, offsets, new OffsetClock(start, warnings), warnings);
  const last = cycles.at(-1)!.at;
  const live = cycles.filter((c) => c.decision.action !== 'none').map((c) => c.decision.action);
  const document: Record<string, unknown> = {
    name: options.name ?? `recorded-${slugTime(start)}`,
    description:
      `${cycles.length} cycles recorded by the live controller from ${new Date(start * 1000).toISOString()} ` +
      `to ${new Date(last * 1000).toISOString()}; it decided ${live.length ? [...new Set(live)].join(', ') : 'no action'}.`,
    source: `CloudPhoenix history store${options.origin ? ` ${options.origin}` : ''}`,
    interval,
    // Replay exactly the recorded cycles, not the ten extra ones a scenario gets by default.
    duration: offsets.at(-1)!,
    topology: JSON.parse(JSON.stringify(options.topology)) as Record<string, unknown>,
    steps,
    expect: expectation(options.expect ?? defaultExpectation(cycles)),
  };
  // The export must produce what the replay accepts; a failure here is a bug in the export.
  parseScenario(document, document.name as string);
  return { document, warnings: [...warnings], start };
}
