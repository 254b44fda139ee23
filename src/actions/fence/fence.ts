import type pg from 'pg';
import { applyDeployment, clusterPreflight } from '../kubernetes/kubernetes.js';
import { endpointCheck } from '../shared/net.js';
import { describeRefused, endSessions, redact, withClient } from '../../pg/index.js';
import { StepError, type PreflightCheck, type StepAdapter, type StepContext } from '../types.js';
import { fenceParamsSchema, type FenceDatabaseParams, type FenceParams } from './config.js';

/** One layer of the fence and whether it held; the run's output records every layer. */
export interface FenceLayer {
  layer: 'read_only' | 'revoke_connect' | 'terminate_sessions' | 'app_scaled_to_zero';
  ok: boolean;
  detail: string;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function readOnly(c: pg.Client, db: string, how: FenceDatabaseParams['read_only']): Promise<string> {
  if (how === 'alter_system') {
    await c.query('ALTER SYSTEM SET default_transaction_read_only = on');
    await c.query('SELECT pg_reload_conf()');
    return 'ALTER SYSTEM default_transaction_read_only = on, configuration reloaded';
  }
  await c.query(`ALTER DATABASE ${ident(db)} SET default_transaction_read_only = on`);
  return `ALTER DATABASE ${db} SET default_transaction_read_only = on (new sessions start read-only)`;
}

async function revokeConnect(c: pg.Client, db: string, roles: string[]): Promise<string> {
  const from = ['PUBLIC', ...roles.map(ident)].join(', ');
  await c.query(`REVOKE CONNECT ON DATABASE ${ident(db)} FROM ${from}`);
  return `REVOKE CONNECT ON DATABASE ${db} FROM ${from}`;
}

/**
 * Ends the app's sessions. Named app roles must all be ended, or the layer fails (and the fence stays
 * pending). Without names every other role's sessions are ended, and the ones PostgreSQL refuses (42501:
 * a superuser's, such as RDS's rdsadmin or Azure's azuresu, which every managed server has) are the
 * provider's, not the app's: they are named, not held against the layer.
 */
async function terminate(c: pg.Client, roles: string[]): Promise<string> {
  const { ended, refused } = await endSessions(c, roles);
  if (refused.length && roles.length) throw new Error(`ended ${ended}; ${describeRefused(refused)}`);
  return `${ended} application sessions ended${refused.length ? `; ${describeRefused(refused)}` : ''}`;
}

/**
 * Fences the old primary's database in layers, each tried on its own so one refusal (RDS refusing
 * ALTER SYSTEM, a missing pg_signal_backend) does not stop the others: read-only by default, CONNECT
 * revoked, the open sessions ended. Repeating it changes nothing further.
 */
export async function fenceDatabase(p: FenceDatabaseParams, signal?: AbortSignal): Promise<FenceLayer[]> {
  const layers: FenceLayer[] = [];
  try {
    await withClient(
      p.connection,
      'old primary',
      async (c) => {
        // A database fenced already starts this session read-only too; the fence itself must write.
        await c.query('SET default_transaction_read_only = off');
        const db = (await c.query('SELECT current_database() AS db')).rows[0].db as string;
        const attempt = async (layer: FenceLayer['layer'], work: () => Promise<string>) => {
          try {
            layers.push({ layer, ok: true, detail: await work() });
          } catch (error) {
            layers.push({ layer, ok: false, detail: (error as Error).message });
          }
        };
        await attempt('read_only', () => readOnly(c, db, p.read_only));
        if (p.revoke_connect) await attempt('revoke_connect', () => revokeConnect(c, db, p.app_roles));
        if (p.terminate_sessions) await attempt('terminate_sessions', () => terminate(c, p.app_roles));
      },
      { signal },
    );
  } catch (error) {
    // The primary (or its region) does not answer: no database layer could be set.
    for (const layer of ['read_only', 'revoke_connect', 'terminate_sessions'] as const)
      layers.push({ layer, ok: false, detail: (error as Error).message });
  }
  return layers;
}

/** Lifts the database fence (failback makes the rebuilt primary writable again). */
export async function unfenceDatabase(connection: string, appRoles: string[] = []): Promise<void> {
  await withClient(connection, 'database', async (c) => {
    await c.query('SET default_transaction_read_only = off');
    const db = (await c.query('SELECT current_database() AS db')).rows[0].db as string;
    await c.query(`ALTER DATABASE ${ident(db)} RESET default_transaction_read_only`);
    await c.query(
      `GRANT CONNECT ON DATABASE ${ident(db)} TO ${['PUBLIC', ...appRoles.map(ident)].join(', ')}`,
    );
  });
}

export const fenceAdapter: StepAdapter<FenceParams> = {
  type: 'fence',
  schema: fenceParamsSchema,
  describe: (p) =>
    [
      p.database
        ? `fence ${redact(p.database.connection)} (read-only by ${p.database.read_only}${p.database.revoke_connect ? ', CONNECT revoked' : ''}${p.database.terminate_sessions ? ', sessions ended' : ''})`
        : '',
      p.app ? `scale ${p.app.namespace}/${p.app.deployment} to ${p.app.replicas ?? 0}` : '',
    ]
      .filter(Boolean)
      .join(' and '),
  async preflight(p, ctx) {
    const checks: PreflightCheck[] = [];
    if (p.database)
      checks.push(await endpointCheck('old primary database', p.database.connection, ctx.timeoutMs));
    if (p.app)
      checks.push(
        ...(await clusterPreflight(p.app.cluster, p.app.namespace, p.app.deployment, ctx.timeoutMs)),
      );
    return checks;
  },
  async run(p, ctx: StepContext) {
    const layers: FenceLayer[] = p.database ? await fenceDatabase(p.database, ctx.signal) : [];
    if (p.app) {
      try {
        const r = await applyDeployment({ ...p.app, action: 'scale', replicas: p.app.replicas ?? 0 }, ctx);
        layers.push({ layer: 'app_scaled_to_zero', ok: true, detail: r.summary });
      } catch (error) {
        layers.push({ layer: 'app_scaled_to_zero', ok: false, detail: (error as Error).message });
      }
    }
    const held = layers.filter((l) => l.ok).map((l) => l.layer);
    const failed = layers.filter((l) => !l.ok).map((l) => `${l.layer} (${l.detail})`);
    const summary = `fence: ${held.length ? `held: ${held.join(', ')}` : 'no layer held'}${failed.length ? `; failed: ${failed.join('; ')}` : ''}`;
    if (held.length === 0) throw new StepError(summary);
    return { summary, output: { layers } };
  },
};
