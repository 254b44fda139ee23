import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { DEFAULT_TOPOLOGY, type RootCauseCategory, type Topology } from '../core/index.js';
import { completeWeights, defaultScoringConfig, type ScoringConfig } from '../scoring/index.js';
import { configSchema, type RawConfig } from './schema.js';
import { closest, ConfigError, type ConfigIssue } from './errors.js';
import {
  findReferences,
  parseReference,
  SECRET_REFERENCE,
  type SecretCache,
  type SecretReference,
} from '../secrets/index.js';

export interface MaintenanceWindow {
  start: number;
  end: number;
  reason?: string;
}

export interface DecisionConfig {
  analyzer: 'evidence' | 'threshold' | 'llm' | 'ensemble';
  /** `decision.confirm_window` as written (the region window by default); the analyzer reads the two below. */
  confirm_window_s: number;
  confirm_window_region_s: number;
  confirm_window_dr_s: number;
  history_window_s: number;
  cooldown_s: number;
  kill_switch: boolean;
  maintenance_windows: MaintenanceWindow[];
  dr_categories: RootCauseCategory[];
}

/** The configuration with every default filled in: what the rest of the program reads. */
export interface PhoenixConfig {
  file?: string;
  interval_s: number;
  topology: Topology;
  scoring: ScoringConfig;
  decision: DecisionConfig;
  store: {
    driver: 'sqlite' | 'postgres';
    path: string;
    url?: string;
    schema: string;
    retention_s: number;
    lease_ttl_s: number;
  };
  /** Sections owned by the adapters; each validates its own part. */
  raw: RawConfig;
}

export function defaultDecisionConfig(): DecisionConfig {
  return {
    analyzer: 'evidence',
    confirm_window_s: 120,
    confirm_window_region_s: 120,
    confirm_window_dr_s: 300,
    history_window_s: 1800,
    cooldown_s: 3600,
    kill_switch: false,
    maintenance_windows: [],
    dr_categories: ['aws_infrastructure', 'cloudflare_infrastructure'],
  };
}

export function defaultConfig(): PhoenixConfig {
  return resolveConfig({});
}

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * `${aws-sm:NAME#key}` / `${azure-kv:VAULT/NAME}`: checked always; replaced by
 * their values when the caller read them (`secrets`), else left for validation.
 */
function interpolateSecrets(
  text: string,
  path: string[],
  secrets: ReadonlyMap<string, string> | undefined,
  issues: ConfigIssue[],
): string {
  return text.replace(SECRET_REFERENCE, (match, store: string, body: string) => {
    const ref = parseReference(store, body);
    if (typeof ref === 'string') {
      issues.push({ path: path.join('.'), message: ref });
      return '';
    }
    if (!secrets) return match;
    const value = secrets.get(match);
    if (value === undefined)
      issues.push({
        path: path.join('.'),
        message: `${match} could not be read; see the secret store's error above`,
      });
    return value ?? '';
  });
}

/** Replaces `${VAR}` and `${VAR:-default}` in every string, then secret references; secrets never live in the file itself. */
function interpolateEnv(
  value: unknown,
  path: string[],
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
  secrets?: ReadonlyMap<string, string>,
): unknown {
  if (typeof value === 'string') {
    const replaced = value.replace(ENV_REFERENCE, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      issues.push({
        path: path.join('.'),
        message: `environment variable ${name} is not set; export ${name}=... before starting, or write \${${name}:-default}`,
      });
      return '';
    });
    return interpolateSecrets(replaced, path, secrets, issues);
  }
  if (Array.isArray(value))
    return value.map((item, i) => interpolateEnv(item, [...path, String(i)], env, issues, secrets));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        interpolateEnv(item, [...path, key], env, issues, secrets),
      ]),
    );
  }
  return value;
}

/** Finds the object schema at a path, to suggest the key a typo was meant to be. */
function knownKeysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  let current: unknown = schema;
  const unwrap = (node: unknown): unknown => {
    let n = node as { _zod?: { def?: Record<string, unknown> } };
    for (let guard = 0; guard < 10; guard++) {
      const def = n?._zod?.def;
      if (!def) break;
      if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable')
        n = def.innerType as typeof n;
      else if (def.type === 'pipe') n = def.in as typeof n;
      else break;
    }
    return n;
  };
  for (const key of path) {
    const node = unwrap(current) as { _zod?: { def?: Record<string, unknown> } };
    const def = node?._zod?.def;
    if (!def) return [];
    if (def.type === 'object') current = (def.shape as Record<string, unknown>)[String(key)];
    else if (def.type === 'record') current = def.valueType;
    else if (def.type === 'array') current = def.element;
    else return [];
  }
  const node = unwrap(current) as { _zod?: { def?: Record<string, unknown> } };
  const def = node?._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape as Record<string, unknown>) : [];
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let node = root as Record<PropertyKey, unknown> | undefined;
  for (const key of path) node = node?.[key] as Record<PropertyKey, unknown> | undefined;
  return node;
}

/**
 * A problem never echoes what a `${VAR}` or secret reference resolved to (a secret as often as
 * not): the value is shown as written in the file.
 */
function hideResolved(
  issue: ConfigIssue,
  document: unknown,
  input: unknown,
  path: PropertyKey[],
): ConfigIssue {
  const written = valueAt(document, path);
  const resolved = valueAt(input, path);
  if (typeof written !== 'string' || !written.includes('${') || typeof resolved !== 'string' || !resolved)
    return issue;
  const shown = `${written} (resolved value not shown)`;
  return { ...issue, message: issue.message.split(resolved).join(shown) };
}

function zodIssues(error: z.ZodError, input: unknown, document: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String).join('.');
    const before = issues.length;
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(configSchema, issue.path);
      for (const key of issue.keys) {
        const guess = closest(key, known);
        const at = path ? `${path}.${key}` : key;
        issues.push({
          path: at,
          message: guess
            ? `unknown key "${key}"; did you mean "${guess}"?`
            : `unknown key "${key}"; allowed here: ${known.join(', ') || '(none)'}`,
        });
      }
    } else if (issue.code === 'invalid_type') {
      const actual = valueAt(input, issue.path);
      issues.push({
        path,
        message:
          actual === undefined
            ? `required ${issue.expected} is missing; add it`
            : `expected ${issue.expected}, got ${describeType(actual)}; write a ${issue.expected} here`,
      });
    } else if (issue.code === 'invalid_value') {
      const allowed = (issue as { values?: unknown[] }).values ?? [];
      issues.push({
        path,
        message: `${JSON.stringify(valueAt(input, issue.path))} is not allowed; use one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`,
      });
    } else {
      issues.push({ path, message: issue.message });
    }
    for (let i = before; i < issues.length; i++)
      issues[i] = hideResolved(issues[i], document, input, issue.path);
  }
  return issues;
}

/** Semantic checks a schema cannot express: weights inside their ranges, levels in order. */
function checkScoring(raw: Pick<RawConfig, 'scoring'>, issues: ConfigIssue[]): void {
  for (const [name, entry] of Object.entries(raw.scoring?.signals ?? {})) {
    if (!entry || typeof entry !== 'object') continue;
    const numeric = (v: unknown): v is number => typeof v === 'number';
    const clean = Object.fromEntries(
      Object.entries(entry).filter(([k, v]) =>
        k === 'range' ? Array.isArray(v) && v.every(numeric) && v.length === 2 : numeric(v),
      ),
    );
    const weights = completeWeights(clean, name);
    const [low, high] = weights.range;
    if (low > high) {
      issues.push({
        path: `scoring.signals.${name}.range`,
        message: `range [${low}, ${high}] is reversed; write [low, high]`,
      });
      continue;
    }
    for (const status of ['ok', 'degraded', 'error', 'unknown'] as const) {
      const w = weights[status];
      if (w < low || w > high) {
        issues.push({
          path: `scoring.signals.${name}.${status}`,
          message: `weight ${w} is outside the signal's range ${low}-${high}; set a weight between ${low} and ${high} or widen range`,
        });
      }
    }
  }
  const given = Object.fromEntries(
    Object.entries(raw.scoring?.levels ?? {}).filter(([, v]) => typeof v === 'number'),
  );
  const levels = { ...defaultScoringConfig().levels, ...given };
  if (!(levels.self_heal <= levels.region_failover && levels.region_failover <= levels.dr_failover)) {
    issues.push({
      path: 'scoring.levels',
      message: `thresholds must rise: self_heal (${levels.self_heal}) <= region_failover (${levels.region_failover}) <= dr_failover (${levels.dr_failover})`,
    });
  }
}

function parseTime(text: string, path: string, issues: ConfigIssue[]): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    issues.push({ path, message: `"${text}" is not a time; write ISO 8601 such as 2026-12-01T02:00:00Z` });
    return 0;
  }
  return ms / 1000;
}

export function resolveConfig(raw: RawConfig, file?: string, issues: ConfigIssue[] = []): PhoenixConfig {
  const scoring = defaultScoringConfig();
  for (const [name, entry] of Object.entries(raw.scoring?.signals ?? {}))
    scoring.signals[name] = completeWeights(entry, name);
  Object.assign(scoring.levels, raw.scoring?.levels ?? {});
  const d = defaultDecisionConfig();
  const rd = raw.decision ?? {};
  const decision: DecisionConfig = {
    analyzer: rd.analyzer ?? d.analyzer,
    confirm_window_s: rd.confirm_window ?? rd.confirm_window_region ?? d.confirm_window_s,
    confirm_window_region_s: rd.confirm_window_region ?? rd.confirm_window ?? d.confirm_window_region_s,
    confirm_window_dr_s: rd.confirm_window_dr ?? rd.confirm_window ?? d.confirm_window_dr_s,
    history_window_s: rd.history_window ?? d.history_window_s,
    cooldown_s: rd.cooldown ?? d.cooldown_s,
    kill_switch: rd.kill_switch ?? d.kill_switch,
    maintenance_windows: (rd.maintenance_windows ?? []).map((w, i) => ({
      start: parseTime(w.start, `decision.maintenance_windows.${i}.start`, issues),
      end: parseTime(w.end, `decision.maintenance_windows.${i}.end`, issues),
      reason: w.reason,
    })),
    dr_categories: rd.dr_categories ?? d.dr_categories,
  };
  return {
    file,
    interval_s: raw.interval ?? 30,
    topology: (raw.topology as Topology | undefined) ?? structuredClone(DEFAULT_TOPOLOGY),
    scoring,
    decision,
    store: {
      driver: raw.store?.driver ?? 'sqlite',
      path: raw.store?.path ?? '.phoenix/phoenix.db',
      url: raw.store?.url,
      schema: raw.store?.schema ?? 'phoenix',
      retention_s: raw.store?.retention ?? 7 * 86400,
      lease_ttl_s: raw.store?.lease_ttl ?? 30,
    },
    raw,
  };
}

/** Validates an already-parsed document. Throws ConfigError listing every problem. */
export function parseConfig(
  document: unknown,
  file = '<config>',
  env: NodeJS.ProcessEnv = process.env,
  secrets?: ReadonlyMap<string, string>,
): PhoenixConfig {
  const issues: ConfigIssue[] = [];
  const input = interpolateEnv(document ?? {}, [], env, issues, secrets);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigError(file, [
      { path: '', message: 'the file must hold a YAML mapping (key: value), not ' + describeType(input) },
    ]);
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    // A missing ${VAR} already explains whatever the schema says about the empty value it left.
    const envPaths = new Set(issues.map((i) => i.path));
    issues.push(...zodIssues(parsed.error, input, document).filter((i) => !envPaths.has(i.path)));
    // Report weight problems too, so one run lists every mistake.
    checkScoring(input as Pick<RawConfig, 'scoring'>, issues);
    throw new ConfigError(file, issues);
  }
  checkScoring(parsed.data, issues);
  const config = resolveConfig(parsed.data, file, issues);
  if (issues.length) throw new ConfigError(file, issues);
  return config;
}

/**
 * Like loadConfig, with the secret references read from their stores first
 * (through `cache`, which keeps them for the runbook and refreshes them).
 */
export async function loadConfigWithSecrets(
  file: string,
  cache: SecretCache,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PhoenixConfig> {
  const config = loadConfig(file, env);
  const refs = [...findReferences(config.raw).values()].filter(
    (r): r is SecretReference => typeof r !== 'string',
  );
  if (!refs.length) return config;
  let values: Map<string, string>;
  try {
    values = await cache.load(refs);
  } catch (error) {
    throw new ConfigError(file, [{ path: '', message: (error as Error).message }]);
  }
  return parseConfig(readDocument(file), file, env, values);
}

/** How often `phoenix run` reads the secret references again when `secrets.refresh` is not set. */
export const DEFAULT_SECRET_REFRESH_S = 900;

/**
 * Keeps a loaded configuration's secrets current: every `secrets.refresh` the
 * cache reads the file's references again; when a value changed (a rotation),
 * the runbooks section is re-resolved in place, so the next run's plan (built
 * from `config.raw.runbooks` when it starts) uses the new value. A store that
 * does not answer leaves the last value read. Returns what stops it.
 */
export function keepSecretsCurrent(
  config: PhoenixConfig,
  cache: SecretCache,
  options: {
    env?: NodeJS.ProcessEnv;
    refreshMs?: number;
    onRefresh?: (result: { rotated: string[]; failures: Map<string, string> }) => void;
  } = {},
): () => void {
  const file = config.file;
  if (!file) return () => undefined;
  const env = options.env ?? process.env;
  const refs = [...findReferences(loadConfig(file, env).raw).values()].filter(
    (r): r is SecretReference => typeof r !== 'string',
  );
  if (!refs.length) return () => undefined;
  let seen = new Map(refs.map((r) => [r.text, cache.get(r.text)]));
  cache.start(
    refs,
    options.refreshMs ?? (config.raw.secrets?.refresh ?? DEFAULT_SECRET_REFRESH_S) * 1000,
    (failures) => {
      const now = new Map(refs.map((r) => [r.text, cache.get(r.text)]));
      const rotated = refs.filter((r) => now.get(r.text) !== seen.get(r.text)).map((r) => r.text);
      if (rotated.length) {
        const values = new Map([...now].filter((e): e is [string, string] => e[1] !== undefined));
        try {
          config.raw.runbooks = parseConfig(readDocument(file), file, env, values).raw.runbooks;
          seen = now;
        } catch (error) {
          // The file changed under us and no longer loads: keep the runbooks as they were, and say why.
          failures.set(file, (error as Error).message);
        }
      }
      options.onRefresh?.({ rotated, failures });
    },
  );
  return () => cache.stop();
}

/** Reads, parses and validates a YAML configuration file. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): PhoenixConfig {
  return parseConfig(readDocument(file), file, env);
}

function readDocument(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'file not found; check the path (examples/phoenix.yaml is a commented starting point)'
        : code === 'EACCES'
          ? 'permission denied; make the file readable by this user'
          : code === 'EISDIR'
            ? 'is a directory; pass the YAML file inside it'
            : `cannot read (${code ?? String(error)})`;
    throw new ConfigError(file, [{ path: '', message: why }]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const where = pos ? `line ${pos.line}, column ${pos.col}` : '';
        return {
          path: where,
          message: `YAML syntax error: ${e.message.split('\n')[0]}; fix the syntax there`,
        };
      }),
    );
  }
  let document: unknown;
  try {
    document = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // The yaml library counts alias expansions and stops a "billion laughs" document before it fills memory.
    if (!(error instanceof ReferenceError)) throw error;
    throw new ConfigError(file, [
      {
        path: '',
        message: `YAML aliases expand too far (${error.message}); write the repeated values out or use fewer aliases (at most ${MAX_ALIAS_COUNT})`,
      },
    ]);
  }
  return document;
}

/** The yaml library's own default: plenty for anchors shared between runbooks, far below an alias bomb. */
const MAX_ALIAS_COUNT = 100;
