import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_LAB_DIR } from '../../lab/index.js';
import { DRILL_SCENARIOS, runDrill, type DrillReport, type DrillScenario } from '../../lab/drill.js';
import { DRILL_TRIGGER } from '../../runbook/index.js';
import { UserError } from '../errors.js';
import { postgresVersions } from './lab.js';
import { executeRunbook } from './runbook-shared.js';
import { print, printErr } from '../output.js';

function summary(report: DrillReport): string {
  const s = (v: number | null) => (v === null ? '—' : `${v.toFixed(1)} s`);
  const failedOver = report.decision === 'dr_failover';
  const lines = [
    '',
    `DRILL ${report.scenario} (${report.replication} replication, PostgreSQL ${report.postgres_versions.primary ?? '?'} → ${report.postgres_versions.dr ?? '?'}, ${report.write_rate} writes/s, ${report.object_rate} objects/s): decision ${report.decision} (${report.category})`,
    `  why:      ${report.reason}`,
    `  detect:   ${s(report.detect_s)} after onset (first cycle that scored the failure)`,
    failedOver
      ? `  decide:   ${s(report.decide_s)} after onset`
      : `  decide:   DR declined: no failover, so no RTO and no data moved`,
  ];
  for (const stage of report.stages)
    lines.push(`  stage ${stage.name.padEnd(13)} ${stage.seconds.toFixed(1)} s`);
  if (failedOver) {
    lines.push(
      `  RTO:      ${s(report.rto_s)} (outage onset → DR serving writes, as clients resolving through a TTL-honouring cache see it; ${s(report.rto_authoritative_s)} asking the authoritative DNS)`,
    );
    if (report.rpo_rows_lost !== null)
      lines.push(
        `  RPO:      ${report.rpo_rows_lost} rows and ${report.rpo_objects_lost} objects acknowledged by the primary are missing on DR (counted)${report.rpo_objects_lost_age_ms?.length ? `; the primary acknowledged those objects ${report.rpo_objects_lost_age_ms.join(', ')} ms before the fault (replication to Blob is asynchronous: see the copy lag below)` : ''}`,
      );
  }
  if (report.failback_rto_s !== undefined)
    lines.push(
      `  way back: reprotect ${s(report.reprotect_s ?? null)}; failback write unavailability ${s(report.failback_rto_s)} (${s(report.failback_rto_authoritative_s ?? null)} without clients' DNS caching); ${report.failback_rows_lost} rows and ${report.failback_objects_lost} objects DR acknowledged missing on the primary (counted); objects replicate forward again ${report.forward_objects_s === null || report.forward_objects_s === undefined ? 'unmeasured' : `(first new object in Blob after ${s(report.forward_objects_s)})`}`,
    );
  if (report.site_states)
    lines.push(
      `  site:     ${report.site_states.join(' → ')}; ${report.active_site} serves (${report.site_transitions?.length ?? 0} transitions journaled)`,
    );
  if (report.old_primary_fenced !== undefined)
    lines.push(
      `  old primary back: ${report.active_site} still serves; old primary ${report.old_primary_fenced ? 'fenced' : 'NOT fenced'}, writable ${s(report.old_primary_writable_s ?? null)} after it answered (goal: 2 intervals of ${report.interval_s} s), ${report.old_primary_writes_after_return} stale-client writes acknowledged there, on-call ${report.old_primary_paged ? 'paged' : 'not paged'}`,
    );
  const sync = report.object_replication;
  if (sync.copies > 0)
    lines.push(
      `  objects:  ${sync.copies} copied S3 → Azure Blob on S3 event notifications, ${sync.lag_ms_p50} ms after S3 stored them (median; max ${sync.lag_ms_max} ms)`,
    );
  lines.push(
    `  writes:   ${report.writes.acknowledged_primary} acknowledged by the primary (${report.writes.primary_per_s ?? '?'}/s before the fault), ${report.writes.acknowledged_dr} by DR, ${report.writes.failed} failed after the fault`,
  );
  if (report.run)
    lines.push(
      `  runbook:  run ${report.run.run_id} ${report.run.status}${report.run.error ? `: ${report.run.error}` : ''}`,
    );
  for (const [key, value] of Object.entries(report.findings ?? {}))
    lines.push(`  ${key.replaceAll('_', ' ')}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  if (report.evidence.length) {
    lines.push('  evidence:');
    for (const e of report.evidence.slice(0, 8))
      lines.push(`    ${e.weight > 0 ? '+' : ''}${e.weight}  ${e.source}: ${e.says}`);
  }
  return lines.join('\n') + '\n';
}

export function registerDrill(program: Command): void {
  program
    .command('drill')
    .description(
      'rehearse the DR runbook against the configured systems without touching production (--config), or run a DR drill on a fresh local lab (--lab)',
    )
    .argument('[runbook]', 'with --config: the runbook to rehearse (default dr_failover)')
    .option('--config <file>', 'rehearse RUNBOOK in drill mode on the systems this configuration names')
    .option('--yes', 'with --config: start without a prompt and pass approval gates')
    .option('--resume <run-id>', 'with --config: continue an interrupted drill (its cleanup runs at the end)')
    .option('--lab', 'run against a local lab built for the drill')
    .option('--scenario <name>', DRILL_SCENARIOS.join(' | '), 'regional-outage')
    .option('--dir <path>', 'where the drill builds its lab', `${DEFAULT_LAB_DIR}-drill`)
    .option(
      '--replication <mode>',
      'the DR database: logical (subscriber, as RDS → Azure) | physical (streaming standby)',
      'logical',
    )
    .option('--postgres <major>', "the primary's PostgreSQL: 13, 14, 15, 16 or 17 (default: Debian's)")
    .option('--dr-postgres <major>', "the DR database's PostgreSQL (logical replication only)")
    .option('--write-rate <n>', 'rows a second the writer inserts through the app', '10')
    .option('--object-rate <n>', 'objects a second among those writes', '5')
    .option('--interval <seconds>', 'controller interval', '5')
    .option('--timeout <seconds>', 'give up on the failover after this long', '180')
    .option(
      '--no-reverse-replicator',
      "failback: leave the lab's reverse object replicator off between reprotect and failback (the last object pass copies everything)",
    )
    .option('--keep', 'leave the lab running afterwards (stop it with phoenix lab down --dir DIR)')
    .option('--json', 'print the report as one JSON object on the last line')
    .action(async (runbook: string | undefined, options: LabDrillOptions & ConfigDrillOptions) => {
      if (options.config) return configDrill(runbook ?? 'dr_failover', options);
      if (runbook) throw new UserError(`a runbook name goes with --config FILE; the lab drill runs its own`);
      return labDrill(options);
    });
}

/** `phoenix drill --config FILE [RUNBOOK]`: the runbook in drill mode against the configured systems. */
async function configDrill(runbook: string, options: ConfigDrillOptions): Promise<void> {
  const report = await executeRunbook(runbook, {
    config: options.config,
    yes: options.yes,
    json: options.json,
    resume: options.resume,
    trigger: DRILL_TRIGGER,
    resumeWith: 'drill',
    reason: 'drill: every step rehearses and cleans up (phoenix drill --config)',
  });
  if (
    report.cleanup &&
    report.cleanup.status !== 'succeeded' &&
    report.cleanup.status !== 'nothing_to_clean'
  ) {
    printErr(
      `drill cleanup ${report.cleanup.status}: ${report.cleanup.detail}; resume the drill to retry it: phoenix drill --config ${options.config} --resume ${report.run_id}\n`,
    );
    process.exitCode = 1;
  }
}

interface ConfigDrillOptions {
  config?: string;
  yes?: boolean;
  resume?: string;
  json?: boolean;
}

type LabDrillOptions = {
  lab?: boolean;
  scenario: string;
  dir: string;
  interval: string;
  timeout: string;
  replication: string;
  postgres?: string;
  drPostgres?: string;
  writeRate: string;
  objectRate: string;
  keep?: boolean;
  json?: boolean;
  reverseReplicator: boolean;
};

/** `phoenix drill --lab`: a fresh lab, a fault, the controller's decision and the failover, measured. */
/** Checks the lab drill's flags; returns its numbers. */
function labDrillNumbers(options: LabDrillOptions): {
  writeRate: number;
  objectRate: number;
  interval: number;
  timeout: number;
} {
  if (!options.lab)
    throw new UserError('say what to drill: --config FILE (your systems, in drill mode) or --lab');
  if (!DRILL_SCENARIOS.includes(options.scenario as DrillScenario))
    throw new UserError(`unknown scenario "${options.scenario}"; use one of ${DRILL_SCENARIOS.join(', ')}`);
  if (options.replication !== 'logical' && options.replication !== 'physical')
    throw new UserError(`unknown --replication "${options.replication}"; use logical or physical`);
  if (options.scenario === 'failback' && options.replication !== 'logical')
    throw new UserError(
      'the failback scenario reverses logical replication (reprotect); run it with --replication logical',
    );
  const writeRate = Number(options.writeRate);
  const objectRate = Number(options.objectRate);
  if (!(writeRate > 0) || !(objectRate >= 0) || objectRate > writeRate)
    throw new UserError(
      '--write-rate takes a positive number, --object-rate a number from 0 to the write rate',
    );
  const interval = Number(options.interval);
  const timeout = Number(options.timeout);
  if (!(interval > 0) || !(timeout > 0))
    throw new UserError('--interval and --timeout take a number of seconds');
  return { writeRate, objectRate, interval, timeout };
}

async function labDrill(options: LabDrillOptions): Promise<void> {
  const { writeRate, objectRate, interval, timeout } = labDrillNumbers(options);
  // The AWS SDK warns about Node 20 on every run; it says nothing about the drill.
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (
      String((warning as Error)?.name ?? warning).includes('NodeVersionSupport') ||
      String(rest[0]).includes('NodeVersionSupport')
    )
      return;
    (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
  const started = Date.now();
  const progress = (message: string) => {
    const t = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
    printErr(`[${t}s] ${message}\n`);
  };
  // Ctrl-C or a kill mid-drill stops it, and the lab is torn down as after a failed drill; a second
  // Ctrl-C exits at once (then `phoenix lab down --dir DIR` cleans up).
  const dir = resolve(options.dir);
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    progress(`${signal}: stopping the drill${options.keep ? '' : ' and tearing the lab down'}`);
    stop.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let report: DrillReport;
  try {
    report = await runDrill({
      scenario: options.scenario as DrillScenario,
      replication: options.replication as 'logical' | 'physical',
      postgres: postgresVersions(options),
      write_rate: writeRate,
      object_rate: objectRate,
      dir,
      interval_s: interval,
      timeout_s: timeout,
      keep: options.keep,
      reverse_replicator: options.reverseReplicator,
      progress,
      signal: stop.signal,
    });
  } catch (error) {
    const where = options.keep
      ? `the lab is still up: inspect it, then \`phoenix lab down --dir ${options.dir}\``
      : 'the lab was torn down; logs are gone unless you pass --keep';
    throw new UserError(`drill failed: ${(error as Error).message} (${where})`, 1);
  }
  if (!options.json) print(summary(report));
  else {
    const { scenario, decision, detect_s, decide_s, rto_s, rpo_rows_lost, rpo_objects_lost, stages } = report;
    printErr(summary(report));
    print(
      JSON.stringify({
        scenario,
        replication: report.replication,
        postgres_versions: report.postgres_versions,
        write_rate: report.write_rate,
        object_rate: report.object_rate,
        write_p99_ms: report.write_p99_ms,
        decision,
        detect_s,
        decide_s,
        rto_s,
        rto_authoritative_s: report.rto_authoritative_s,
        rpo_rows_lost,
        rpo_objects_lost,
        rpo_objects_lost_age_ms: report.rpo_objects_lost_age_ms,
        stages,
        reason: report.reason,
        category: report.category,
        writes: report.writes,
        object_replication: report.object_replication,
        ...(report.findings ? { findings: report.findings } : {}),
        reprotect_s: report.reprotect_s,
        failback_rto_s: report.failback_rto_s,
        failback_rto_authoritative_s: report.failback_rto_authoritative_s,
        failback_client_dns_lag_s: report.failback_client_dns_lag_s,
        failback_cache_phase_wait_s: report.failback_cache_phase_wait_s,
        reprotect_steps: report.reprotect_steps,
        failback_steps: report.failback_steps,
        failback_event_loop_lag_ms: report.failback_event_loop_lag_ms,
        reverse_replicator: report.reverse_replicator,
        failback_rows_lost: report.failback_rows_lost,
        failback_objects_lost: report.failback_objects_lost,
        forward_objects_s: report.forward_objects_s,
        site_states: report.site_states,
        site_transitions: report.site_transitions,
        decisions_while_dr_served: report.decisions_while_dr_served,
        active_site: report.active_site,
        old_primary_fenced: report.old_primary_fenced,
        old_primary_writable_s: report.old_primary_writable_s,
        old_primary_writes_after_return: report.old_primary_writes_after_return,
        old_primary_paged: report.old_primary_paged,
        interval_s: report.interval_s,
      }) + '\n',
    );
  }
}
