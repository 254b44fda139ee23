import { applyDeployment, clusterPreflight } from '../kubernetes/kubernetes.js';
import { endpointCheck } from '../shared/net.js';
import { redact, withClient } from '../shared/pg.js';
import { StepError, type PreflightCheck, type StepAdapter, type StepContext } from '../types.js';
import { fenceParamsSchema, type FenceParams } from './config.js';

/** Makes a database refuse writes; already read-only is fine (a repeated fence changes nothing). */
export async function fenceDatabase(
  connection: string,
  terminateSessions: boolean,
  signal?: AbortSignal,
): Promise<{ already: boolean; terminated: number }> {
  return withClient(
    connection,
    'old primary',
    async (c) => {
      const current = (await c.query("SELECT current_setting('default_transaction_read_only') AS ro")).rows[0]
        .ro as string;
      if (current !== 'on') {
        await c.query('ALTER SYSTEM SET default_transaction_read_only = on');
        await c.query('SELECT pg_reload_conf()');
      }
      let terminated = 0;
      if (terminateSessions) {
        terminated = (
          await c.query(
            `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
          )
        ).rows[0].n as number;
      }
      return { already: current === 'on', terminated };
    },
    { signal },
  );
}

async function verifyReadOnly(connection: string, signal?: AbortSignal): Promise<void> {
  const on = await withClient(
    connection,
    'old primary',
    async (c) =>
      (await c.query('SHOW default_transaction_read_only')).rows[0].default_transaction_read_only as string,
    { signal },
  );
  if (on !== 'on')
    throw new StepError(
      `${redact(connection)} still accepts writes after the reload; check that the role is a superuser`,
    );
}

export const fenceAdapter: StepAdapter<FenceParams> = {
  type: 'fence',
  schema: fenceParamsSchema,
  describe: (p) =>
    [
      p.database ? `make ${redact(p.database.connection)} read-only` : '',
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
    const done: string[] = [];
    const output: Record<string, unknown> = {};
    if (p.database) {
      const r = await fenceDatabase(p.database.connection, p.database.terminate_sessions, ctx.signal);
      await verifyReadOnly(p.database.connection, ctx.signal);
      done.push(
        `${redact(p.database.connection)} read-only${r.already ? ' (already)' : ''}, ${r.terminated} sessions ended`,
      );
      output.database = r;
    }
    if (p.app) {
      const r = await applyDeployment({ ...p.app, action: 'scale', replicas: p.app.replicas ?? 0 }, ctx);
      done.push(r.summary);
      output.app = r.output;
    }
    return { summary: `fenced: ${done.join('; ')}`, output };
  },
};
