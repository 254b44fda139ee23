import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_TOPOLOGY, type RootCauseCategory, type Topology } from '../core/index.js';
import { completeWeights, defaultScoringConfig, type ScoringConfig } from '../scoring/index.js';
import { configSchema, type RawConfig } from './schema.js';
import { closest, ConfigError, type ConfigIssue } from './errors.js';
import { findReferences, type SecretCache, type SecretReference } from '../secrets/index.js';
import { interpolateReferences, parseHoldingReferences, valueAt } from './interpolate.js';
import { readConfigDocument } from './document.js';
import { probesSchema, type ProbesConfig } from './sections/probes.js';
import { expandSiteProbes, withSignals, type ServingSite } from './site-probes.js';

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
  /**
   * `probes.signals` expanded for each site that can serve, when the probes use `{{active.…}}` /
   * `{{standby.…}}` (docs/lifecycle.md); `raw.probes.signals` is then the primary's expansion.
   */
  site_probes?: Partial<Record<ServingSite, ProbesConfig['signals']>>;
  /**
   * With `site_probes`: the signals whose probes name `{{active.…}}` and no `{{standby.…}}`, the only
   * ones that describe a site other than the primary while it serves (the decision core scores just
   * these then). Absent: no probe follows the serving site.
   */
  serving_signals?: string[];
  /**
   * With `site_probes`: the signals whose probes name both `{{active.…}}` and `{{standby.…}}` (replication
   * between the sites). Scored while the primary serves and, after reprotect, in `reverse_protected`.
   */
  pair_signals?: string[];
  /** Loaded by `validate --offline`: unset variables stay as written, in the runbooks file too. */
  offline?: boolean;
  /**
   * The secret references' values, when they were read (`loadConfigWithSecrets`): the runbooks file is
   * resolved with them when a plan is built. A reference left in a runbook then could not be read, and the
   * runbook is refused naming it.
   */
  secretValues?: Map<string, string>;
  /** References that could not be read, and why (`phoenix run` starts without them and tries again). */
  unreadSecrets?: Map<string, string>;
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

/** What to write where the schema expected `expected`: a mapping names its keys. */
function expectedShape(expected: string, keys: string[]): string {
  if (expected === 'object')
    return keys.length ? `a mapping { ${keys.join(', ')} }` : 'a mapping (key: value)';
  if (expected === 'array') return 'a list';
  if (expected === 'boolean') return 'true or false';
  return `a ${expected}`;
}

/** "Invalid input" from a union, said as the shapes it accepts. */
function unionMessage(issue: z.core.$ZodIssue, actual: unknown): string {
  const branches = ((issue as { errors?: z.core.$ZodIssue[][] }).errors ?? []).map((errors) => {
    const first = errors[0];
    if (!first) return undefined;
    if (first.code === 'invalid_type') return expectedShape(first.expected, []);
    return first.message;
  });
  const shapes = [...new Set(branches.filter((b): b is string => !!b).map((b) => b.replace(/^write /, '')))];
  if (!shapes.length) return issue.message;
  return `${describeType(actual)} does not fit here; write ${shapes.join(', or ')}`;
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
      const shape = expectedShape(issue.expected, knownKeysAt(configSchema, issue.path));
      issues.push({
        path,
        message:
          actual === undefined
            ? `required ${issue.expected} is missing; add ${shape}`
            : `expected ${issue.expected}, got ${describeType(actual)}; write ${shape} here`,
      });
    } else if (issue.code === 'invalid_union') {
      issues.push({ path, message: unionMessage(issue, valueAt(input, issue.path)) });
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

/** Each other serving site's expansion of the probes, validated as the primary's was; problems say which site. */
function siteProbes(
  expansion: NonNullable<ReturnType<typeof expandSiteProbes>>,
  raw: RawConfig,
  envPaths: ReadonlySet<string>,
  issues: ConfigIssue[],
): PhoenixConfig['site_probes'] {
  const out: PhoenixConfig['site_probes'] = { primary: raw.probes?.signals };
  const signalsSchema = probesSchema.shape.signals;
  for (const site of expansion.sites) {
    if (site === 'primary') continue;
    const parsed = parseHoldingReferences(signalsSchema, expansion.signals[site], envPaths);
    if (parsed.success) out[site] = parsed.data;
    else
      for (const issue of zodIssues(parsed.error, expansion.signals[site], undefined))
        issues.push({
          ...issue,
          path: ['probes', 'signals', issue.path].filter(Boolean).join('.'),
          message: `with ${site} serving (probes.sites.${site}): ${issue.message}`,
        });
  }
  return out;
}

/** Validates an already-parsed document. Throws ConfigError listing every problem. */
export function parseConfig(
  document: unknown,
  file = '<config>',
  env: NodeJS.ProcessEnv = process.env,
  secrets?: ReadonlyMap<string, string>,
  options: { offline?: boolean; keepUnread?: boolean; failures?: ReadonlyMap<string, string> } = {},
): PhoenixConfig {
  const issues: ConfigIssue[] = [];
  const input = interpolateReferences(document ?? {}, [], { env, secrets, ...options }, issues);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigError(file, [
      { path: '', message: 'the file must hold a YAML mapping (key: value), not ' + describeType(input) },
    ]);
  }
  // A missing ${VAR} already explains whatever the schema says about the empty value it left.
  const envPaths = new Set(issues.map((i) => i.path));
  // Probes that follow the active site: the schema checks the primary's expansion, then each other site's.
  const sitesBefore = issues.length;
  const expansion = expandSiteProbes(input, issues);
  const siteProblems = issues.length > sitesBefore;
  const checked = expansion ? withSignals(input, expansion.signals.primary) : input;
  const parsed = parseHoldingReferences(configSchema, checked, envPaths);
  if (!parsed.success) {
    issues.push(
      ...zodIssues(parsed.error, checked, document).filter(
        // A placeholder left unexpanded (its site problem is reported) is no URL problem of its own.
        (i) =>
          !envPaths.has(i.path) &&
          !(siteProblems && String(valueAt(checked, i.path.split('.'))).includes('{{')),
      ),
    );
    // Report weight problems too, so one run lists every mistake.
    checkScoring(input as Pick<RawConfig, 'scoring'>, issues);
    throw new ConfigError(file, issues);
  }
  checkScoring(parsed.data, issues);
  const config = resolveConfig(parsed.data, file, issues);
  if (expansion) {
    config.site_probes = siteProbes(expansion, parsed.data, envPaths, issues);
    config.serving_signals = expansion.serving;
    config.pair_signals = expansion.pair;
  }
  if (issues.length) throw new ConfigError(file, issues);
  if (options.offline) config.offline = true;
  return config;
}

/** Where `runbooks.file` points, resolved against the configuration file's directory. */
export function runbooksFilePath(config: PhoenixConfig): string | undefined {
  const file = (config.raw.runbooks as { file?: string } | undefined)?.file;
  if (!file) return undefined;
  return resolve(config.file ? dirname(config.file) : process.cwd(), file);
}

const validReferences = (value: unknown) =>
  [...findReferences(value).values()].filter((r): r is SecretReference => typeof r !== 'string');

/**
 * Every secret reference the configuration holds: in the main file and in `runbooks.file` (a runbooks file
 * that cannot be read is reported when the runbooks are planned, not here).
 */
export function configReferences(config: PhoenixConfig): SecretReference[] {
  const found = new Map(validReferences(config.raw).map((r) => [r.text, r]));
  const runbooksFile = runbooksFilePath(config);
  if (runbooksFile) {
    try {
      for (const ref of validReferences(readConfigDocument(runbooksFile))) found.set(ref.text, ref);
    } catch {
      // buildPlan names the problem with the file.
    }
  }
  return [...found.values()];
}

/** The values read so far and the references still unread, on a configuration resolved with them. */
function withSecrets(config: PhoenixConfig, refs: SecretReference[], cache: SecretCache): PhoenixConfig {
  config.secretValues = new Map(
    refs.flatMap((r) => {
      const value = cache.get(r.text);
      return value === undefined ? [] : [[r.text, value] as [string, string]];
    }),
  );
  config.unreadSecrets = new Map(
    refs
      .filter((r) => !config.secretValues!.has(r.text))
      .map((r) => [r.text, cache.failures.get(r.text) ?? `${r.text} could not be read`]),
  );
  return config;
}

/**
 * Like loadConfig, with the secret references (main file and runbooks file) read from their stores first,
 * through `cache`, which keeps them for the runbooks and refreshes them. A reference that cannot be read
 * is an error naming it and what failed, unless `startWithout`: then it stays as written (`unreadSecrets`
 * says why), a runbook that needs it is refused when planned, and `retryUnreadSecrets` tries again.
 */
export async function loadConfigWithSecrets(
  file: string,
  cache: SecretCache,
  env: NodeJS.ProcessEnv = process.env,
  options: { startWithout?: boolean } = {},
): Promise<PhoenixConfig> {
  const config = loadConfig(file, env);
  const refs = configReferences(config);
  if (!refs.length) return withSecrets(config, refs, cache);
  try {
    await cache.load(refs);
  } catch (error) {
    if (!options.startWithout) throw new ConfigError(file, [{ path: '', message: (error as Error).message }]);
  }
  const values = new Map(
    refs.flatMap((r) =>
      cache.get(r.text) === undefined ? [] : [[r.text, cache.get(r.text)!] as [string, string]],
    ),
  );
  const resolved = parseConfig(readConfigDocument(file), file, env, values, {
    keepUnread: options.startWithout,
  });
  return withSecrets(resolved, refs, cache);
}

/**
 * The sections a running controller re-reads when a secret changes: the runbooks (the next run's plan is
 * built from them), the notification channels, the LLM settings and the probes (handed on by the caller:
 * Notifier, analyzer, probe sets built again).
 */
const LIVE_SECTIONS = ['runbooks', 'notifications', 'llm', 'probes'] as const;
export type LiveSection = (typeof LIVE_SECTIONS)[number];

/**
 * Resolves the live sections again with the values `cache` now holds (a rotation, or a secret readable at
 * last), in place, and returns those whose value changed. Throws when the file no longer loads.
 */
function resolveAgain(
  config: PhoenixConfig,
  refs: SecretReference[],
  cache: SecretCache,
  env: NodeJS.ProcessEnv,
): LiveSection[] {
  const file = config.file!;
  withSecrets(config, refs, cache);
  const resolved = parseConfig(readConfigDocument(file), file, env, config.secretValues, {
    keepUnread: true,
  });
  const fresh = resolved.raw;
  const changed = LIVE_SECTIONS.filter(
    (section) => JSON.stringify(fresh[section]) !== JSON.stringify(config.raw[section]),
  );
  for (const section of changed) (config.raw as Record<LiveSection, unknown>)[section] = fresh[section];
  // The probes of each serving site are expanded from probes.signals and probes.sites, which hold the secrets.
  if (changed.includes('probes')) config.site_probes = resolved.site_probes;
  return changed;
}

/**
 * `phoenix run` started without some secrets (`startWithout`): reads those again, and re-resolves the
 * runbooks, notification channels, LLM settings and probes when any became readable. Returns the references read
 * this time and the sections that changed with them.
 */
export async function retryUnreadSecrets(
  config: PhoenixConfig,
  cache: SecretCache,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ read: string[]; changed: LiveSection[] }> {
  if (!config.file || !config.unreadSecrets?.size) return { read: [], changed: [] };
  const refs = configReferences(config);
  const unread = refs.filter((r) => config.unreadSecrets!.has(r.text));
  await cache.load(unread).catch(() => undefined);
  const read = unread.filter((r) => cache.get(r.text) !== undefined).map((r) => r.text);
  if (!read.length) {
    withSecrets(config, refs, cache);
    return { read, changed: [] };
  }
  return { read, changed: resolveAgain(config, refs, cache, env) };
}

/** How often `phoenix run` reads the secret references again when `secrets.refresh` is not set. */
export const DEFAULT_SECRET_REFRESH_S = 900;

/**
 * Keeps a loaded configuration's secrets current: every `secrets.refresh` the
 * cache reads the file's references again (the runbooks file's too); when a value changed (a rotation),
 * the runbooks, notification channels, LLM settings and probes are re-resolved in place (the next run's plan uses
 * the new value; `onRefresh` hands the rest on). A store that
 * does not answer leaves the last value read. Returns what stops it.
 */
export function keepSecretsCurrent(
  config: PhoenixConfig,
  cache: SecretCache,
  options: {
    env?: NodeJS.ProcessEnv;
    refreshMs?: number;
    onRefresh?: (result: {
      rotated: string[];
      failures: Map<string, string>;
      /** The live sections the rotation changed (runbooks, notifications, llm, probes). */
      changed: LiveSection[];
    }) => void;
  } = {},
): () => void {
  const file = config.file;
  if (!file) return () => undefined;
  const env = options.env ?? process.env;
  const refs = configReferences(loadConfig(file, env));
  if (!refs.length) return () => undefined;
  let seen = new Map(refs.map((r) => [r.text, cache.get(r.text)]));
  cache.start(
    refs,
    options.refreshMs ?? (config.raw.secrets?.refresh ?? DEFAULT_SECRET_REFRESH_S) * 1000,
    (failures) => {
      const now = new Map(refs.map((r) => [r.text, cache.get(r.text)]));
      const rotated = refs.filter((r) => now.get(r.text) !== seen.get(r.text)).map((r) => r.text);
      let changed: LiveSection[] = [];
      if (rotated.length) {
        try {
          changed = resolveAgain(config, refs, cache, env);
          seen = now;
        } catch (error) {
          // The file changed under us and no longer loads: keep the runbooks as they were, and say why.
          failures.set(file, (error as Error).message);
        }
      }
      options.onRefresh?.({ rotated, failures, changed });
    },
  );
  return () => cache.stop();
}

/** Reads, parses and validates a YAML configuration file. */
export function loadConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: { offline?: boolean } = {},
): PhoenixConfig {
  return parseConfig(readConfigDocument(file), file, env, undefined, options);
}
