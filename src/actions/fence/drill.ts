import { clusterPreflight } from '../kubernetes/kubernetes.js';
import { rehearsalByChecks } from '../shared/drill.js';
import { redact, withClient } from '../../pg/index.js';
import type { PreflightCheck, StepDrill } from '../types.js';
import type { FenceDatabaseParams, FenceParams } from './config.js';

/** The rights each fence layer needs, asked of the old primary without changing anything. */
async function databaseRights(p: FenceDatabaseParams, signal: AbortSignal): Promise<PreflightCheck[]> {
  return withClient(
    p.connection,
    'old primary',
    async (c) => {
      // GRANT ALTER SYSTEM ON PARAMETER (and has_parameter_privilege) came with PostgreSQL 15; before it,
      // ALTER SYSTEM is a superuser's alone, and naming the function would fail the whole query.
      const v15 = Number((await c.query('SHOW server_version_num')).rows[0].server_version_num) >= 150000;
      const alterSystem = v15
        ? "has_parameter_privilege('default_transaction_read_only', 'ALTER SYSTEM')"
        : 'false';
      const { rows } = await c.query(
        `SELECT r.rolsuper
                OR pg_has_role(current_user, d.datdba, 'USAGE') AS owns,
                r.rolsuper OR ${alterSystem} AS alter_system,
                r.rolsuper OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER') AS signal,
                current_database() AS db, current_user AS who
           FROM pg_database d, pg_roles r
          WHERE d.datname = current_database() AND r.rolname = current_user`,
      );
      const r = rows[0] as { owns: boolean; alter_system: boolean; signal: boolean; db: string; who: string };
      const check = (name: string, ok: boolean, fix: string): PreflightCheck => ({
        check: name,
        ok,
        detail: ok ? `${r.who} may (${r.db})` : `${r.who} may not: ${fix}`,
      });
      const checks = [check('connect to the old primary', true, '')];
      checks.push(
        p.read_only === 'alter_system'
          ? check(
              'read-only (ALTER SYSTEM)',
              r.alter_system,
              v15
                ? 'GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only, or use alter_database'
                : 'before PostgreSQL 15 only a superuser may ALTER SYSTEM (RDS and Azure give none): use alter_database',
            )
          : check('read-only (ALTER DATABASE)', r.owns, `connect as the owner of ${r.db}`),
      );
      if (p.revoke_connect) checks.push(check('REVOKE CONNECT', r.owns, `connect as the owner of ${r.db}`));
      if (p.terminate_sessions)
        checks.push(check('end sessions', r.signal, `GRANT pg_signal_backend TO ${r.who}`));
      return checks;
    },
    { signal },
  ).catch((error: Error): PreflightCheck[] => [
    { check: 'connect to the old primary', ok: false, detail: `${redact(p.connection)}: ${error.message}` },
  ]);
}

/** Fencing cannot be undone safely in production: a drill only checks it could fence. */
export const fenceDrill: StepDrill<FenceParams> = {
  describe: (p) =>
    `check the rights to fence${p.database ? ` ${redact(p.database.connection)}` : ''}${p.app ? ` and to scale ${p.app.namespace}/${p.app.deployment}` : ''}; nothing fenced`,
  async rehearse(p, ctx) {
    const checks: PreflightCheck[] = [];
    if (p.database) checks.push(...(await databaseRights(p.database, ctx.signal)));
    if (p.app)
      checks.push(...(await clusterPreflight(p.app.cluster, p.app.namespace, p.app.deployment, 5000)));
    return rehearsalByChecks(checks, 'fence');
  },
};
