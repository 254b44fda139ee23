import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import {
  DEFAULT_TOPOLOGY,
  parseDuration,
  type IncidentContext,
  type Level,
  type RootCauseCategory,
  type SignalSnapshot,
  type Topology,
} from '../core/index.js';
import schema from './scenario.schema.json' with { type: 'json' };

export interface ScenarioStep {
  at: number;
  note?: string;
  signals?: SignalSnapshot;
  context?: IncidentContext;
}

export interface ScenarioExpectation {
  action: Level;
  by?: number;
  not_before?: number;
  category?: RootCauseCategory;
  why: string;
}

/** A recorded incident, durations already turned into seconds. */
export interface Scenario {
  name: string;
  description: string;
  source?: string;
  file: string;
  interval: number;
  duration: number;
  topology: Topology;
  steps: ScenarioStep[];
  expect: ScenarioExpectation;
}

/** A scenario file that cannot be replayed: names the file and the path inside it. */
export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.map((p) => `${file}: ${p}`).join('\n'));
    this.name = 'ScenarioError';
  }
}

const ajv = new Ajv2020({ allErrors: true, strict: false });
const validateScenario = ajv.compile(schema);

function describeAjvError(error: ErrorObject): string {
  const path = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
  if (error.keyword === 'additionalProperties') {
    return `${path}: unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`;
  }
  if (error.keyword === 'enum') {
    return `${path}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  if (error.keyword === 'required') {
    return `${path}: missing required field "${(error.params as { missingProperty: string }).missingProperty}"`;
  }
  return `${path}: ${error.message ?? error.keyword}`;
}

function secondsIn(value: unknown): number | undefined {
  return value === undefined ? undefined : parseDuration(value as string | number);
}

/** Converts every duration inside a context (event starts, incident starts, change times) to seconds. */
function normalizeContext(context: Record<string, unknown> | undefined): IncidentContext | undefined {
  if (!context) return undefined;
  const out = structuredClone(context) as Record<string, unknown>;
  const health = out.aws_health as { events?: Array<{ startTime?: unknown }> } | undefined;
  for (const event of health?.events ?? []) event.startTime = secondsIn(event.startTime);
  for (const feed of ['cloudflare', 'azure_status']) {
    const incidents = (out[feed] as { incidents?: Array<{ started?: unknown }> } | undefined)?.incidents;
    for (const incident of incidents ?? []) incident.started = secondsIn(incident.started);
  }
  for (const change of (out.changes as Array<{ at: unknown }> | undefined) ?? [])
    change.at = secondsIn(change.at)!;
  return out as IncidentContext;
}

/** Validates a parsed document against the scenario schema and normalizes it. */
export function parseScenario(document: unknown, file: string): Scenario {
  if (!validateScenario(document)) {
    const problems = (validateScenario.errors ?? []).map(describeAjvError);
    throw new ScenarioError(file, [...new Set(problems)].slice(0, 20));
  }
  const doc = document as Record<string, unknown> & {
    steps: Array<Record<string, unknown>>;
    expect: Record<string, unknown>;
    topology?: Partial<Topology>;
  };
  const steps: ScenarioStep[] = doc.steps.map((step) => ({
    at: parseDuration(step.at as string | number),
    note: step.note as string | undefined,
    signals: step.signals as SignalSnapshot | undefined,
    context: normalizeContext(step.context as Record<string, unknown> | undefined),
  }));
  for (let i = 1; i < steps.length; i++) {
    if (steps[i].at < steps[i - 1].at) {
      throw new ScenarioError(file, [
        `steps.${i}.at: steps must be ordered by "at" (${steps[i].at}s comes after ${steps[i - 1].at}s)`,
      ]);
    }
  }
  const interval = secondsIn(doc.interval) ?? 30;
  if (interval <= 0) throw new ScenarioError(file, ['interval: must be positive']);
  const duration = secondsIn(doc.duration) ?? steps[steps.length - 1].at + 10 * interval;
  const topology: Topology = doc.topology
    ? { ...structuredClone(DEFAULT_TOPOLOGY), edge: undefined, ...(doc.topology as Topology) }
    : structuredClone(DEFAULT_TOPOLOGY);
  return {
    name: doc.name as string,
    description: doc.description as string,
    source: doc.source as string | undefined,
    file,
    interval,
    duration,
    topology,
    steps,
    expect: {
      action: doc.expect.action as Level,
      by: secondsIn(doc.expect.by),
      not_before: secondsIn(doc.expect.not_before),
      category: doc.expect.category as RootCauseCategory | undefined,
      why: doc.expect.why as string,
    },
  };
}

export function loadScenarioFile(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ScenarioError(file, [`cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ScenarioError(file, [`not valid YAML: ${(error as Error).message.split('\n')[0]}`]);
  }
  return parseScenario(document, file);
}

const SCENARIO_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Expands directories (recursively, sorted) into scenario files. */
export function findScenarioFiles(paths: string[]): string[] {
  const files: string[] = [];
  const visit = (path: string, explicit: boolean): void => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      throw new ScenarioError(path, ['no such file or directory']);
    }
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) visit(join(path, entry), false);
    } else if (explicit || SCENARIO_EXTENSIONS.has(extname(path))) {
      files.push(path);
    }
  };
  for (const path of paths) visit(path, true);
  return files;
}
