import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { defaultConfig, loadConfig } from '../../config/index.js';
import { openHistory } from '../../controller/index.js';
import { leaseStoreOn, type Lease } from '../../store/index.js';
import { UserError } from '../errors.js';
import { formatCycle } from './probe-output.js';
import { print } from '../output.js';
import { nextAction, SiteStateStore, type SiteState } from '../../lifecycle/index.js';

/** Which site serves, the old primary's fence, and what to do next. */
function siteLines(site: SiteState): string {
  const old = site.old_primary;
  const fence = old
    ? `; old primary ${old.site}: ${old.fence}${old.fence === 'fence_pending' && old.writable ? ' and WRITABLE (split-brain risk)' : ''}`
    : '';
  return `site: ${site.state}, ${site.active_site} serves${site.since ? ` since ${when(site.since)}` : ''}${fence}
next: ${nextAction(site)}
`;
}

function when(at: number): string {
  return new Date(at * 1000).toISOString().replace('.000Z', 'Z');
}

/** Who leads, from the controller lease: the one process allowed to act. */
function leaderLine(lease: Lease | undefined): string {
  if (!lease) return 'leader: none yet (no controller has run on this store)';
  const left = Math.round((lease.expires_at - Date.now() / 1000) * 10) / 10;
  return left > 0
    ? `leader: ${lease.holder} (fencing token ${lease.token}, lease ${left}s left)`
    : `leader: none (the lease of ${lease.holder}, token ${lease.token}, lapsed ${-left}s ago)`;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show the current state and the last decisions from the history store')
    .option('--config <file>', 'YAML configuration file (for store.path); default store .phoenix/phoenix.db')
    .option('--limit <n>', 'how many past decisions to show', '10')
    .option('--all', 'include the quiet "no action" decisions')
    .option('--json', 'print as JSON')
    .action(async (options: { config?: string; limit: string; all?: boolean; json?: boolean }) => {
      const config = options.config ? loadConfig(options.config) : defaultConfig();
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UserError(`--limit "${options.limit}" is not a positive whole number`);
      const sqlite = config.store.driver === 'sqlite';
      if (sqlite && config.store.path !== ':memory:' && !existsSync(config.store.path))
        throw new UserError(
          `no history at ${config.store.path}; start the controller (phoenix run --config FILE) or point --config at the file whose store.path it uses`,
        );
      let history;
      try {
        history = await openHistory(config);
      } catch (error) {
        throw new UserError((error as Error).message);
      }
      try {
        const path = history.db.describe();
        const latest = await history.latest();
        const decisions = await history.decisions({ limit, actionsOnly: !options.all });
        const counts = await history.count();
        const lease = await leaseStoreOn(history.db).current();
        const leader = lease && lease.expires_at > Date.now() / 1000 ? lease : null;
        const sites = new SiteStateStore(history.db);
        const site = await sites.current();
        const paused = (await sites.pause(Date.now() / 1000)) ?? null;
        if (options.json) {
          print(
            JSON.stringify({
              store: path,
              leader,
              site: { ...site, next_action: nextAction(site), paused },
              cycles: counts.cycles,
              latest: latest ?? null,
              decisions,
            }) + '\n',
          );
          return;
        }
        print(leaderLine(lease) + '\n');
        print(siteLines(site));
        if (paused)
          print(`automation PAUSED until ${when(paused.until)} by ${paused.by}: ${paused.reason}\n`);
        if (!latest) {
          print(`${path}: no cycles recorded yet\n`);
          return;
        }
        const age = Math.max(0, Math.round(Date.now() / 1000 - latest.at));
        print(
          formatCycle(latest, {
            header: `last cycle ${when(latest.at)} (${age}s ago, ${counts.cycles} cycles kept in ${path})`,
          }) + '\n',
        );
        print(options.all ? `\nlast ${limit} decisions:\n` : `\nlast decisions that were not "none":\n`);
        if (decisions.length === 0) print('  (none)\n');
        for (const d of decisions)
          print(
            `  ${when(d.at)}  ${d.action.padEnd(16)} score ${String(d.score).padStart(2)}  ${d.category} (${d.confidence})  ${d.reason}\n`,
          );
      } finally {
        await history.db.close();
      }
    });
}
