import type { Command } from 'commander';
import {
  nextAction,
  SiteStateStore,
  SITE_STATES,
  type Site,
  type SiteEvent,
  type SiteStateName,
} from '../../lifecycle/index.js';
import { UserError } from '../errors.js';
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
    const events = await sites.events(Number(flags.limit) || 20);
    if (flags.json) {
      process.stdout.write(JSON.stringify({ ...state, next_action: nextAction(state), events }) + '\n');
      return;
    }
    const old = state.old_primary;
    process.stdout.write(
      `${state.state}: ${state.active_site} serves${state.since ? ` since ${when(state.since)}` : ''}${state.run_id ? ` (run ${state.run_id})` : ''}\n` +
        (old
          ? `old primary ${old.site}: ${old.fence}${old.writable ? ', WRITABLE when last checked' : ''}\n`
          : '') +
        `next: ${nextAction(state)}\n`,
    );
    for (const e of events)
      process.stdout.write(
        `  ${when(e.at)}  ${e.from_state} → ${e.to_state}  by ${e.caused_by}: ${e.reason}\n`,
      );
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
    if (flags.json) process.stdout.write(JSON.stringify({ ...after, changed }) + '\n');
    else process.stdout.write(`${changed ? '' : 'unchanged: '}${after.state}; next: ${nextAction(after)}\n`);
  });
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
