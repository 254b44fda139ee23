import type { Command } from 'commander';
import {
  nextAction,
  SiteStateStore,
  SITE_STATES,
  type Site,
  type SiteEvent,
  type SiteStateName,
} from '../../lifecycle/index.js';
import { formatDuration, parseDuration } from '../../core/index.js';
import { UserError } from '../errors.js';
import { print } from '../output.js';
import { asUserError, loadRunbookConfig, openStore, whoAmI } from './journal-access.js';

type Flags = { config?: string; json?: boolean; by?: string; reason?: string };

const when = (at: number) => new Date(at * 1000).toISOString().replace('.000Z', 'Z');

async function withSites<T>(flags: Flags, work: (sites: SiteStateStore) => Promise<T>): Promise<T> {
  const db = await openStore(loadRunbookConfig(flags, false));
  try {
    return await work(new SiteStateStore(db));
  } catch (error) {
    return asUserError(error);
  } finally {
    await db.close();
  }
}

async function show(flags: Flags & { limit: string }): Promise<void> {
  await withSites(flags, async (sites) => {
    const state = await sites.current();
    const pause = await sites.pause(Date.now() / 1000);
    const events = await sites.events(Number(flags.limit) || 20);
    if (flags.json) {
      print(
        JSON.stringify({ ...state, next_action: nextAction(state), paused: pause ?? null, events }) + '\n',
      );
      return;
    }
    const old = state.old_primary;
    print(
      `${state.state}: ${state.active_site} serves${state.since ? ` since ${when(state.since)}` : ''}${state.run_id ? ` (run ${state.run_id})` : ''}\n` +
        (old
          ? `old primary ${old.site}: ${old.fence}${old.writable ? ', WRITABLE when last checked' : ''}\n`
          : '') +
        (pause ? `PAUSED until ${when(pause.until)} by ${pause.by}: ${pause.reason}\n` : '') +
        `next: ${nextAction(state)}\n`,
    );
    for (const e of events)
      print(`  ${when(e.at)}  ${e.from_state} → ${e.to_state}  by ${e.caused_by}: ${e.reason}\n`);
  });
}

/** An operator's command: journaled with who gave it and why. */
async function record(event: SiteEvent, flags: Flags): Promise<void> {
  if (!flags.reason) throw new UserError('--reason is required: it is kept in the site journal');
  await withSites(flags, async (sites) => {
    const { after, changed } = await sites.apply(
      event,
      { by: `operator:${flags.by ?? whoAmI()}`, reason: flags.reason! },
      Date.now() / 1000,
    );
    if (flags.json) print(JSON.stringify({ ...after, changed }) + '\n');
    else print(`${changed ? '' : 'unchanged: '}${after.state}; next: ${nextAction(after)}\n`);
  });
}

async function setPause(flags: Flags & { for?: string }, pausing: boolean): Promise<void> {
  const now = Date.now() / 1000;
  let seconds = 0;
  if (pausing) {
    try {
      seconds = parseDuration(flags.for ?? '');
    } catch {
      throw new UserError(`--for "${flags.for}" is not a duration; use e.g. 30m or 2h`);
    }
    if (seconds <= 0) throw new UserError('--for must be longer than 0 s');
    if (!flags.reason) throw new UserError('--reason is required: it is kept in the site journal');
  }
  const by = `operator:${flags.by ?? whoAmI()}`;
  await withSites(flags, async (sites) => {
    const pause = pausing ? { at: now, until: now + seconds, by, reason: flags.reason! } : null;
    await sites.setPause(pause, { by, reason: flags.reason ?? 'resumed' }, now);
    if (flags.json) print(JSON.stringify({ paused: pause }) + '\n');
    else
      print(
        pause
          ? `automation paused for ${formatDuration(seconds)} (until ${when(pause.until)}): decisions are computed and recorded, no runbook starts; phoenix resume lifts it\n`
          : 'automation resumed\n',
      );
  });
}

export function registerPause(program: Command): void {
  program
    .command('pause')
    .description(
      'pause automation: decisions are still computed and recorded, no runbook starts; expires by itself',
    )
    .requiredOption('--for <duration>', 'how long, e.g. 30m or 2h')
    .requiredOption('--reason <text>', 'why, kept in the site journal and shown everywhere')
    .option('--by <name>', 'who pauses')
    .option('--config <file>', 'configuration file (default: $PHOENIX_CONFIG or ./phoenix.yaml)')
    .option('--json', 'print as JSON')
    .action((flags: Flags & { for: string }) => setPause(flags, true));
}

export function registerResume(program: Command): void {
  program
    .command('resume')
    .description('lift a pause of automation (phoenix pause)')
    .option('--reason <text>', 'why, kept in the site journal')
    .option('--by <name>', 'who resumes')
    .option('--config <file>', 'configuration file (default: $PHOENIX_CONFIG or ./phoenix.yaml)')
    .option('--json', 'print as JSON')
    .action((flags: Flags) => setPause(flags, false));
}

export function registerSite(program: Command): void {
  const site = program
    .command('site')
    .description(
      'the DR lifecycle: which site serves, the old primary’s fence, and the journal of changes (docs/lifecycle.md)',
    )
    .option('--config <file>', 'configuration file (default: $PHOENIX_CONFIG or ./phoenix.yaml)')
    .option('--limit <n>', 'how many journal lines to show', '20')
    .option('--json', 'print as JSON')
    .action((flags: Flags & { limit: string }) => show(flags));
  site
    .command('fenced')
    .description('record that the old primary was fenced by hand (clears fence_pending; reprotect may start)')
    .requiredOption('--reason <text>', 'how it was fenced, kept in the journal')
    .option('--by <name>', 'who fenced it')
    .option('--config <file>', 'configuration file')
    .option('--json', 'print as JSON')
    .action((flags: Flags) => record({ type: 'fence_held', run_id: null }, { ...site.opts(), ...flags }));
  site
    .command('set')
    .description('declare the state after a change made outside CloudPhoenix (a failover by hand)')
    .argument('<state>', SITE_STATES.join(', '))
    .requiredOption('--site <site>', 'the site that serves: primary, secondary or dr')
    .requiredOption('--reason <text>', 'what happened, kept in the journal')
    .option('--by <name>', 'who declares it')
    .option('--config <file>', 'configuration file')
    .option('--json', 'print as JSON')
    .action((state: string, flags: Flags & { site: string }) => {
      if (!(SITE_STATES as readonly string[]).includes(state))
        throw new UserError(`"${state}" is not a site state; use one of ${SITE_STATES.join(', ')}`);
      if (!['primary', 'secondary', 'dr'].includes(flags.site))
        throw new UserError(`--site "${flags.site}" is not a site; use primary, secondary or dr`);
      return record(
        {
          type: 'operator_set',
          state: state as SiteStateName,
          active_site: flags.site as Site,
          reason: flags.reason!,
        },
        { ...site.opts(), ...flags },
      );
    });
}
