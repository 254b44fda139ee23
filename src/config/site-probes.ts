import type { ConfigIssue } from './errors.js';

/**
 * Probes that follow the active site (docs/lifecycle.md, "Probes follow the active site").
 *
 * A user declares each site's addresses once, under `probes.sites.<site>`, and writes every probe
 * once with `{{active.<key>}}` (the site that serves users) and `{{standby.<key>}}` (the site that
 * would take over: DR while the primary serves; the old primary, to fence and reprotect, while
 * another site serves). The loader expands the probes once per site that can serve, validates each
 * expansion, and the controller picks the expansion of the site the durable site state says serves.
 * This is pure text substitution on the parsed document: no probe type needs to know about sites.
 */

export const SERVING_SITES = ['primary', 'secondary', 'dr'] as const;
export type ServingSite = (typeof SERVING_SITES)[number];

/** `{{active.app_url}}`, `{{ standby.db }}`; anything else between `{{ }}` is reported. */
const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;
const ROLE_KEY = /^(active|standby)\.([a-z][a-z0-9_]*)$/;

/** The site that is not serving but matters: what DR is while the primary serves, the old primary otherwise. */
export function standbyOf(active: ServingSite): ServingSite {
  return active === 'primary' ? 'dr' : 'primary';
}

type Vars = Record<string, string>;

interface Found {
  path: string;
  role: 'active' | 'standby';
  key: string;
}

function placeholders(value: unknown, path: string[], found: Found[], issues: ConfigIssue[]): void {
  if (typeof value === 'string') {
    for (const match of value.matchAll(PLACEHOLDER)) {
      const parsed = ROLE_KEY.exec(match[1]!);
      if (!parsed)
        issues.push({
          path: path.join('.'),
          message: `"${match[0]}" is not a site placeholder; write {{active.<key>}} (the site that serves) or {{standby.<key>}} (the other one), with <key> declared under probes.sites.<site>`,
        });
      else found.push({ path: path.join('.'), role: parsed[1] as Found['role'], key: parsed[2]! });
    }
  } else if (Array.isArray(value))
    value.forEach((v, i) => placeholders(v, [...path, String(i)], found, issues));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) placeholders(v, [...path, k], found, issues);
}

function substitute(value: unknown, active: Vars, standby: Vars): unknown {
  if (typeof value === 'string')
    return value.replace(PLACEHOLDER, (whole, inner: string) => {
      const parsed = ROLE_KEY.exec(inner);
      if (!parsed) return whole;
      return (parsed[1] === 'active' ? active : standby)[parsed[2]!] ?? whole;
    });
  if (Array.isArray(value)) return value.map((v) => substitute(v, active, standby));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, active, standby)]));
  return value;
}

export interface SiteProbeExpansion {
  /** The sites that can serve and need their own probes: primary and dr, plus secondary when the topology has one. */
  sites: ServingSite[];
  /** `probes.signals` as written for each serving site (not yet validated). */
  signals: Partial<Record<ServingSite, unknown>>;
  /**
   * The signals that describe whichever site serves: their probes name `{{active.<key>}}` and no
   * `{{standby.<key>}}`. The others describe a fixed place (a probe written without a placeholder) or
   * involve the site that does not serve (the standby; the pair, as replication from one to the other).
   */
  serving: string[];
  /**
   * The signals whose probes name both `{{active.<key>}}` and `{{standby.<key>}}`: the pair, as replication
   * from the serving site to the other one. They describe the serving site's protection where that
   * replication exists: while the primary serves, and after reprotect (`reverse_protected`).
   */
  pair: string[];
}

/** The signals whose probes name `{{active.…}}` and, with `both`, `{{standby.…}}` too (or without, not). */
function signalsNaming(found: Found[], both: boolean): string[] {
  const roles = new Map<string, Set<Found['role']>>();
  for (const f of found) {
    const name = f.path.split('.')[2]!;
    roles.set(name, (roles.get(name) ?? new Set()).add(f.role));
  }
  return [...roles]
    .filter(([, r]) => r.has('active') && r.has('standby') === both)
    .map(([name]) => name)
    .sort();
}

/**
 * Expands `probes.signals` for each site that can serve, or returns undefined when the probes name no
 * site placeholder (one set of probes, as before). Problems (a placeholder without `probes.sites`, a
 * key one site does not declare) are added to `issues`.
 */
export function expandSiteProbes(document: unknown, issues: ConfigIssue[]): SiteProbeExpansion | undefined {
  const doc = (document ?? {}) as { probes?: { signals?: unknown; sites?: unknown }; topology?: unknown };
  const signals = doc.probes?.signals;
  const found: Found[] = [];
  placeholders(signals, ['probes', 'signals'], found, issues);
  if (!found.length) return undefined;
  const declared = doc.probes?.sites;
  if (!declared || typeof declared !== 'object') {
    const first = found[0]!;
    issues.push({
      path: first.path,
      message: `{{${first.role}.${first.key}}} needs the sites' values: declare probes.sites.primary.${first.key} and probes.sites.dr.${first.key} (and secondary when the topology has one)`,
    });
    return undefined;
  }
  const vars = declared as Partial<Record<ServingSite, Vars>>;
  const topology = (doc.topology ?? {}) as { secondary?: unknown };
  const sites: ServingSite[] = topology.secondary ? ['primary', 'secondary', 'dr'] : ['primary', 'dr'];
  const before = issues.length;
  for (const site of sites)
    for (const f of found) {
      const whose = f.role === 'active' ? site : standbyOf(site);
      const own = vars[whose];
      if (!own || typeof own !== 'object')
        issues.push({
          path: `probes.sites.${whose}`,
          message: `the probes use site placeholders and ${whose} can serve or stand by${whose === 'secondary' ? ' (the topology has a secondary region)' : ''}: declare probes.sites.${whose} with the keys they name`,
        });
      else if (own[f.key] === undefined)
        issues.push({
          path: `probes.sites.${whose}.${f.key}`,
          message: `${f.path} names {{${f.role}.${f.key}}}, which probes.sites.${whose} does not declare; add ${f.key}: <value on ${whose}>`,
        });
    }
  // One line per missing site or key, not one per placeholder naming it.
  const seen = new Set<string>();
  const unique = issues.splice(before).filter((i) => {
    if (seen.has(i.path)) return false;
    seen.add(i.path);
    return true;
  });
  issues.push(...unique);
  if (unique.length) return undefined;
  const out: SiteProbeExpansion = {
    sites,
    signals: {},
    serving: signalsNaming(found, false),
    pair: signalsNaming(found, true),
  };
  for (const site of sites) out.signals[site] = substitute(signals, vars[site]!, vars[standbyOf(site)]!);
  return out;
}

/** The document with `probes.signals` replaced (the primary's expansion is what the schema checks first). */
export function withSignals(document: unknown, signals: unknown): unknown {
  const doc = document as { probes: Record<string, unknown> };
  return { ...doc, probes: { ...doc.probes, signals } };
}
