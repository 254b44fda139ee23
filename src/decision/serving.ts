import type { SignalSnapshot } from '../core/index.js';
import type { PhoenixConfig } from '../config/index.js';
import type { SiteInput } from './engine.js';

/** The state in which replication runs from the serving (non-primary) site back to the old primary. */
const PROTECTED = 'reverse_protected';

/** The signals of the site that serves users, and what was left out and why. */
export interface ServingSignals {
  signals: SignalSnapshot;
  /** Signals probed but describing another place than the serving site, by name. */
  left_out: string[];
  /** Why they were left out (for the score's notes); undefined when nothing was. */
  note?: string;
  /** True when another site than the primary serves and no probe describes it. */
  none_describe: boolean;
}

/**
 * Only the serving site's signals may decide an action (docs/lifecycle.md, "Probes follow the active
 * site"). While the primary serves, every probe is its own: they are written for it. While another site
 * serves, only the probes that follow it (`{{active.<key>}}` and no `{{standby.<key>}}`) describe it; a
 * probe written without a placeholder still reaches what it was written for (the old primary, its
 * cloud's APIs), and one that names the standby describes the old primary (as the other end of
 * replication): their trouble is the site to fence and reprotect, not the site to heal. A probe that
 * names both (replication from the serving site to the other) describes the serving site's protection
 * once that replication exists: after reprotect (`reverse_protected`), as while the primary serves.
 * Until then (dr_active, reprotecting) there is none to measure, and during failing_back the run cuts
 * it over on purpose.
 */
export function servingSignals(
  config: Pick<PhoenixConfig, 'serving_signals' | 'pair_signals'>,
  signals: SignalSnapshot,
  site: SiteInput | undefined,
): ServingSignals {
  const serving = site?.active_site ?? 'primary';
  if (serving === 'primary') return { signals, left_out: [], none_describe: false };
  const follow = new Set([
    ...(config.serving_signals ?? []),
    ...(site!.state === PROTECTED ? (config.pair_signals ?? []) : []),
  ]);
  const kept: SignalSnapshot = {};
  const left_out: string[] = [];
  for (const [name, signal] of Object.entries(signals)) {
    if (follow.has(name)) kept[name] = signal;
    else left_out.push(name);
  }
  const none_describe = Object.keys(kept).length === 0;
  if (left_out.length === 0) return { signals: kept, left_out, none_describe };
  const note = none_describe
    ? `no probe describes ${serving}, which serves (site state ${site!.state}): the probes name no {{active.<key>}}, so they still reach the sites they were written for; nothing is scored or acted on until they follow the serving site (declare each site's addresses in probes.sites and aim the probes at {{active.<key>}}, docs/lifecycle.md)`
    : `while ${serving} serves (site state ${site!.state}), ${left_out.join(', ')} describe another site (a probe without {{active.<key>}}, or one naming {{standby.<key>}}: the old primary; one naming both counts from reverse_protected, when reprotect has built the replication): probed and recorded, not scored`;
  return { signals: kept, left_out, note, none_describe };
}
