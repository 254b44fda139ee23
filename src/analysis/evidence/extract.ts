import type { IncidentContext } from '../../core/index.js';
import type { AnalysisInput } from '../analyzer.js';
import { changesView, edgeView, healthView, metricsView, siteIncidents, textView } from './context-views.js';
import type { Features } from './features.js';
import { assessImpact, isImpaired } from './impact.js';
import { crossRegionView, externalView, internalView, nodeView, num, statusOf } from './signal-views.js';
import { readUnknowns } from './unknowns.js';
import { siteView } from './sites.js';

/** Reads everything the explanations weigh off one cycle, its history and its context. */
export function extractFeatures(raw: AnalysisInput): Features {
  const { topology, history, now } = raw;
  const sites = siteView(topology, raw.site);
  const ctx: IncidentContext = raw.context ?? {};
  // Onset of the current impaired run and the number of earlier recovered episodes.
  let onset: number | undefined;
  for (let i = history.length - 1; i >= 0 && isImpaired(history[i]); i--) onset = history[i].at;
  let recoveries = 0;
  for (let i = 1; i < history.length; i++)
    if (isImpaired(history[i - 1]) && !isImpaired(history[i])) recoveries++;
  const impact = assessImpact(raw);
  const impaired = isImpaired({ level: raw.score.level, signals: raw.signals });
  // Silent inside probes read as the evidence they are (unknowns.ts); the score keeps them as it scored them.
  const { signals, blind } = readUnknowns(raw, onset, impact);
  const input: AnalysisInput = { ...raw, signals };
  // The replica lag measured just before the failure began: what the replica held when the primary went away.
  const before = onset !== undefined ? [...history].reverse().find((h) => h.at < onset!) : undefined;
  return {
    now,
    sites,
    impaired,
    onset: impaired ? onset : undefined,
    lastServedAt: impaired ? before?.at : undefined,
    recoveries,
    internal: internalView(signals.internal_services),
    external: externalView(signals.external_uptime),
    impact,
    blind,
    nodes: nodeView(input, onset),
    crossRegion: crossRegionView(input, onset),
    db: {
      status: statusOf(signals, 'db_replication_lag'),
      seconds: num(signals.db_replication_lag, 'seconds'),
      dataBehind: num(signals.db_replication_lag, 'data_behind_s'),
      preOnsetLag: num(before?.signals.db_replication_lag, 'seconds'),
      primaryAnswers: signals.db_replication_lag?.primary_answers === false ? false : undefined,
    },
    drSite: { status: statusOf(signals, 'dr_site'), present: Boolean(signals.dr_site) },
    crossCloud: { status: statusOf(signals, 'cross_cloud') },
    secondary: { status: statusOf(signals, 'secondary_region'), present: Boolean(signals.secondary_region) },
    metrics: metricsView(input),
    health: healthView(ctx, topology, sites),
    ...edgeView(ctx, topology),
    servingIncidents: siteIncidents(ctx, sites.servingSite),
    standbyIncidents: siteIncidents(ctx, sites.standbySite),
    changes: changesView(ctx, onset, now),
    ...textView(ctx, signals),
  };
}
