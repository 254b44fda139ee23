import { AppsV1Api } from '@kubernetes/client-node';
import { redact, withClient } from '../../pg/index.js';
import { apiMessage, kubeConfig } from '../kubernetes/kubernetes.js';
import type { FenceDatabaseParams, FenceParams } from './config.js';

/** What a look at the old primary found, without changing it. */
export interface OldPrimaryProbe {
  /** A target the fence names answered (the fence runs then: what answers is fenced at once). */
  reachable: boolean;
  /** One of them would take writes (a database not read-only for new sessions, an app with replicas); null when none answered. */
  writable: boolean | null;
  /** One line per target, for the journal and the page. */
  details: string[];
}

interface TargetProbe {
  reachable: boolean;
  writable: boolean | null;
  detail: string;
}

/**
 * The database as a new session sees it: fenced databases start sessions read-only (ALTER DATABASE
 * or ALTER SYSTEM default_transaction_read_only), a standby is in recovery. Anything else takes writes.
 */
async function probeDatabase(p: FenceDatabaseParams, timeoutMs: number): Promise<TargetProbe> {
  try {
    return await withClient(
      p.connection,
      'old primary',
      async (c) => {
        const { rows } = await c.query(
          `SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') AS ro`,
        );
        const r = rows[0] as { recovery: boolean; ro: string };
        const writable = !r.recovery && r.ro === 'off';
        return {
          reachable: true,
          writable,
          detail: `database ${redact(p.connection)} answers: ${writable ? 'WRITABLE (new sessions may write)' : r.recovery ? 'in recovery' : 'read-only for new sessions'}`,
        };
      },
      { timeoutMs, queryTimeoutMs: timeoutMs },
    );
  } catch (error) {
    return {
      reachable: false,
      writable: null,
      detail: `database ${redact(p.connection)}: ${(error as Error).message}`,
    };
  }
}

/** The app as its cluster reports it: running replicas take writes. */
async function probeApp(p: NonNullable<FenceParams['app']>, timeoutMs: number): Promise<TargetProbe> {
  const where = `deployment ${p.namespace}/${p.deployment}`;
  try {
    const apps = (await kubeConfig(p.cluster)).makeApiClient(AppsV1Api);
    const timer = AbortSignal.timeout(timeoutMs);
    const d = await Promise.race([
      apps.readNamespacedDeployment({ name: p.deployment, namespace: p.namespace }),
      new Promise<never>((_, reject) =>
        timer.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`)), {
          once: true,
        }),
      ),
    ]);
    const replicas = d.spec?.replicas ?? 0;
    return { reachable: true, writable: replicas > 0, detail: `${where} answers: ${replicas} replicas` };
  } catch (error) {
    return { reachable: false, writable: null, detail: `${where}: ${apiMessage(error)}` };
  }
}

/** Looks at every target of the fence steps: whether they answer and whether any would take writes. */
export async function probeOldPrimary(targets: FenceParams[], timeoutMs = 3000): Promise<OldPrimaryProbe> {
  const probes = await Promise.all(
    targets.flatMap((t) => [
      ...(t.database ? [probeDatabase(t.database, timeoutMs)] : []),
      ...(t.app ? [probeApp(t.app, timeoutMs)] : []),
    ]),
  );
  const answered = probes.filter((p) => p.reachable);
  return {
    reachable: answered.length > 0,
    writable: answered.length ? answered.some((p) => p.writable) : null,
    details: probes.map((p) => p.detail),
  };
}
