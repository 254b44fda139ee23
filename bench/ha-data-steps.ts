import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import {
  freePort,
  query,
  startPrimary,
  startStandby,
  waitUntil,
  type PostgresCluster,
} from '../src/lab/index.js';
import { clusterHandle } from '../src/lab/postgres.js';
import { ADMIN_ROLE, APP_ROLE, createManagedDatabase, roleUrl, SUBSCRIPTION } from '../src/lab/managed.js';
import { s3Client } from '../src/actions/shared/s3.js';
import { FakeArm as FakeArmPostgres } from '../src/stand-ins/azure/arm-postgresql.js';
import { LabSystems, WriteCounter, objectWrite, type LabRound } from './ha-lab-systems.js';

/**
 * The kill-anywhere benchmark's other runbooks, for the step types that cannot share the failover runbook
 * with its logical cut-over (a configuration opens the DR database one way only: rule replication-mode):
 * - `data` (replication: physical), as after losing a self-managed primary: health_check against the old
 *   primary (still down, so the run goes on); database `promote` of a streaming standby (pg_promote());
 *   database `dump_restore` of the promoted standby through S3 (s3rver) into a cold database; terraform
 *   with `terraform_data` only (the one resource that needs no provider download); verify against the DR
 *   site's health endpoint.
 * - `wayback` (replication: azure_replica), after a logical failover the round's preparation has already
 *   cut over: database `azure_promote` of a Flexible Server read replica through the ARM stand-in (the
 *   one step that opens a database, so it may sit here), then as the lab's reprotect runbook: fence the
 *   returning primary, database `reprotect` (its old subscription retired, its rows kept aside, an
 *   initial copy from DR, then streaming).
 * helm is in neither: there is no helm binary on this machine.
 * Each round gets its own standby (pg_basebackup of one physical primary) and cold database, or its own
 * database pair, ARM stand-in and Terraform directory.
 */

export type DataKind = 'data' | 'wayback';

const PHYS_DB = 'inventory';
/** Large enough that pg_dump, the upload and pg_restore stream for a while (a kill lands inside them). */
const PHYS_ROWS = 200_000;
/** Rows the reprotect's initial copy carries back to the old primary. */
const REPROTECT_ROWS = 20_000;
const DUMP_BUCKET = 'bench-dumps';
const FAILBACK = 'phoenix_failback';
const ARM_SUB = '00000000-0000-0000-0000-0000000000d4';
const ARM_TOKEN = 'arm-data-token';
/** The ARM stand-in's operation answers InProgress this many polls before it ends. */
const ARM_POLLS = 5;

/** What a data round's steps act on, known before its controllers start (their configuration names it). */
export interface DataPlan {
  kind: DataKind;
  index: number;
  dir: string;
  standbyPort: number;
  cold: string;
  dumpKey: string;
  terraformDir: string;
  arm: FakeArmPostgres;
}

export interface DataRound extends DataPlan {
  /** wayback: the old primary and DR database, cut over. */
  pair?: LabRound;
  /** data: the round's streaming standby. */
  standby?: PostgresCluster;
}

const TERRAFORM = `variable "site" {
  type = string
}

resource "terraform_data" "dr_site" {
  input = { site = var.site, role = "primary" }
}

output "dr_site" {
  value = terraform_data.dr_site.output
}
`;

export class DataSystems {
  private constructor(
    private readonly lab: LabSystems,
    private readonly phys: PostgresCluster,
    private readonly uploads: WriteCounter,
    private readonly health: Server,
  ) {}

  static async start(baseDir: string, lab: LabSystems): Promise<DataSystems> {
    const phys = await startPrimary({ baseDir: join(baseDir, 'physical-primary') });
    await query(phys.connectionString(), `CREATE DATABASE ${PHYS_DB}`);
    await query(
      phys.connectionString(PHYS_DB),
      `CREATE TABLE items (id bigserial PRIMARY KEY, sku text NOT NULL, payload text NOT NULL);
       INSERT INTO items (sku, payload)
         SELECT 'sku-' || g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, ${PHYS_ROWS}) g`,
    );
    const client = s3Client({
      bucket: DUMP_BUCKET,
      prefix: '',
      region: 'us-east-1',
      endpoint: lab.s3.endpoint,
      force_path_style: true,
      access_key_id: lab.s3.accessKeyId,
      secret_access_key: lab.s3.secretAccessKey,
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: DUMP_BUCKET }));
    } finally {
      client.destroy();
    }
    // The managed roles on the DR server (the cold database's owner), as the failover rounds make them.
    await createManagedDatabase(lab.subscriber, 'bench_roles', 'SELECT 1', { replication: false });
    // The DR database publishes on the way back: its admin may stream, as Azure's is after ALTER ROLE.
    await query(lab.subscriber.connectionString(), `ALTER ROLE ${ADMIN_ROLE} REPLICATION`);
    const uploads = await new WriteCounter(new URL(lab.s3.endpoint), objectWrite).start();
    // The DR site's health endpoint, which verify checks: it answers as a site that took over.
    const health = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
    return new DataSystems(lab, phys, uploads, health);
  }

  /** The round's names, ports and stand-in, made before its controllers' configuration is written. */
  async plan(kind: DataKind, index: number, dir: string): Promise<DataPlan> {
    const terraformDir = join(dir, 'terraform');
    mkdirSync(terraformDir, { recursive: true });
    writeFileSync(join(terraformDir, 'main.tf'), TERRAFORM);
    const arm = await new FakeArmPostgres(
      [
        { name: 'orders-dr', role: 'AsyncReplica', source: 'orders-main' },
        { name: 'orders-main', role: 'Primary' },
      ],
      ARM_TOKEN,
      ARM_POLLS,
    ).start();
    return {
      kind,
      index,
      dir,
      standbyPort: await freePort(),
      cold: `cold_r${index}`,
      dumpKey: `round-${index}.pgc`,
      terraformDir,
      arm,
    };
  }

  /**
   * data: the standby streaming, an empty cold database. wayback: the pair as a logical failover left it
   * (rows replicated, then the subscription disabled and the DR database opened), for the reprotect to
   * copy back.
   */
  async prepare(plan: DataPlan): Promise<DataRound> {
    if (plan.kind === 'data') {
      const standby = await startStandby(this.phys, {
        baseDir: join(plan.dir, 'standby'),
        port: plan.standbyPort,
      });
      await query(this.lab.subscriber.connectionString(), `CREATE DATABASE ${plan.cold} OWNER ${ADMIN_ROLE}`);
      return { ...plan, standby };
    }
    const pair = await this.lab.prepare(plan.index);
    const dr = this.lab.subscriber.connectionString(pair.database);
    await query(
      roleUrl(this.lab.publisher, APP_ROLE, pair.database),
      `INSERT INTO orders (note) SELECT 'r' || g FROM generate_series(1, ${REPROTECT_ROWS}) g`,
    );
    await waitUntil(
      async () =>
        (await query<{ n: number }>(dr, 'SELECT count(*)::int AS n FROM orders'))[0].n ===
        50 + REPROTECT_ROWS,
      120_000,
      'the DR database to receive the rows',
      100,
    );
    // The cut-over's effect as it leaves it, in a session that may write (the database is read-only).
    const writable = `${dr}?options=${encodeURIComponent('-c default_transaction_read_only=off')}`;
    await query(writable, `ALTER SUBSCRIPTION ${SUBSCRIPTION} DISABLE`);
    await query(writable, `ALTER DATABASE ${pair.database} RESET default_transaction_read_only`);
    return { ...plan, pair };
  }

  private standbyUrl(plan: DataPlan): string {
    return `postgresql://postgres@127.0.0.1:${plan.standbyPort}/${PHYS_DB}`;
  }

  /** The round's runbook, in the order an operator takes it, and the replication mode it opens the database in. */
  runbook(plan: DataPlan, downUrl: string): { replication: string; steps: unknown[] } {
    const { publisher, subscriber, s3 } = this.lab;
    const db = this.lab.names(plan.index).database;
    const healthUrl = `http://127.0.0.1:${(this.health.address() as AddressInfo).port}/healthz`;
    const [fence] = this.lab.steps(this.lab.names(plan.index));
    const confirm = {
      name: 'confirm-incident',
      type: 'health_check',
      params: { checks: [{ url: downUrl, timeout_ms: 1000 }], tries: 2, interval: 0.3 },
    };
    if (plan.kind === 'wayback')
      return {
        replication: 'azure_replica',
        steps: [
          {
            name: 'promote-azure-replica',
            type: 'database',
            params: {
              action: 'azure_promote',
              subscription_id: ARM_SUB,
              resource_group: 'rg-dr',
              server: 'orders-dr',
              access_token: ARM_TOKEN,
              endpoint: plan.arm.url,
              ca_file: plan.arm.caFile,
              poll_interval: 0.3,
            },
          },
          { ...fence, name: 'fence-returning-primary' },
          {
            name: 'reprotect-old-primary',
            type: 'database',
            params: {
              action: 'reprotect',
              publisher: roleUrl(subscriber, ADMIN_ROLE, db),
              // PostgreSQL 15 (the lab's): a subscription's owner and its apply worker's role are superusers.
              publisher_conninfo: subscriber.connectionString(db),
              publisher_owner: subscriber.connectionString(db),
              subscriber: roleUrl(publisher, ADMIN_ROLE, db),
              subscriber_owner: publisher.connectionString(db),
              publication: FAILBACK,
              subscription: FAILBACK,
              retire_subscription: SUBSCRIPTION,
              app_roles: [APP_ROLE],
              wait: '120s',
            },
          },
        ],
      };
    return {
      replication: 'physical',
      steps: [
        confirm,
        {
          name: 'promote-standby',
          type: 'database',
          params: {
            action: 'promote',
            standby: this.standbyUrl(plan),
            primary: this.phys.connectionString(PHYS_DB),
            max_lag: '60s',
          },
        },
        {
          name: 'restore-cold-standby',
          type: 'database',
          params: {
            action: 'dump_restore',
            source: this.standbyUrl(plan),
            target: roleUrl(subscriber, ADMIN_ROLE, plan.cold),
            object_store: {
              bucket: DUMP_BUCKET,
              key: plan.dumpKey,
              endpoint: this.uploads.endpoint,
              force_path_style: true,
              access_key_id: s3.accessKeyId,
              secret_access_key: s3.secretAccessKey,
            },
          },
        },
        {
          name: 'terraform-dr',
          type: 'terraform',
          params: { dir: plan.terraformDir, vars: { site: 'azure-dr' } },
        },
        {
          name: 'verify-dr',
          type: 'verify',
          params: { checks: [{ url: healthUrl, contains: 'ok' }], consecutive: 2, interval: 0.3 },
        },
      ],
    };
  }

  /** What every step left, without the round's names (two rounds that did the same have equal snapshots). */
  async snapshot(r: DataRound): Promise<Record<string, unknown>> {
    if (r.standby) {
      const [standby] = await query<Record<string, unknown>>(
        r.standby.connectionString(PHYS_DB),
        `SELECT pg_is_in_recovery() AS in_recovery, count(*)::int AS rows,
                md5(string_agg(id::text || sku, ',' ORDER BY id)) AS keys,
                (SELECT last_value::text FROM pg_sequences WHERE sequencename = 'items_id_seq') AS seq
           FROM items`,
      );
      const [cold] = await query<Record<string, unknown>>(
        roleUrl(this.lab.subscriber, ADMIN_ROLE, r.cold),
        `SELECT count(*)::int AS rows, count(DISTINCT id)::int AS keys_distinct,
                md5(string_agg(id::text || sku || payload, ',' ORDER BY id)) AS keys,
                (SELECT last_value::text FROM pg_sequences WHERE sequencename = 'items_id_seq') AS seq,
                (SELECT count(*)::int FROM pg_indexes WHERE tablename = 'items') AS indexes
           FROM items`,
      ).catch((e: Error) => [{ error: e.message }]);
      const tfstate = JSON.parse(readFileSync(join(r.terraformDir, 'terraform.tfstate'), 'utf8')) as {
        outputs: Record<string, { value: unknown }>;
        resources: Array<{ type: string; name: string; instances: unknown[] }>;
      };
      return {
        promote: standby,
        dump_restore: { ...cold, dump_object: await this.dumpExists(r) },
        terraform: {
          outputs: Object.fromEntries(Object.entries(tfstate.outputs).map(([k, v]) => [k, v.value])),
          resources: tfstate.resources.map((x) => `${x.type}.${x.name} × ${x.instances.length}`),
        },
      };
    }
    const db = r.pair!.database;
    const strip = (s: string) => s.replaceAll(db, '<db>');
    const lab = await this.lab.snapshot(r.pair!);
    const [back] = await query<Record<string, unknown>>(
      this.lab.publisher.connectionString(db),
      `SELECT (SELECT count(*)::int FROM orders) AS rows,
              (SELECT md5(string_agg(id::text || note, ',' ORDER BY id)) FROM orders) AS keys,
              (SELECT subenabled FROM pg_subscription WHERE subname = '${FAILBACK}'
                 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())) AS subscribed,
              (SELECT string_agg(DISTINCT srsubstate::text, '') FROM pg_subscription_rel) AS table_states,
              (SELECT count(*)::int FROM information_schema.schemata
                WHERE schema_name LIKE 'phoenix_before_%') AS kept_schemas`,
    );
    const dr = this.lab.subscriber.connectionString(db);
    const publication = await query<{ t: string }>(
      dr,
      `SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = '${FAILBACK}' ORDER BY 1`,
    );
    const retired = await query(
      dr,
      `SELECT 1 FROM pg_subscription WHERE subname = '${SUBSCRIPTION}'
          AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    const slots = async (cluster: PostgresCluster) =>
      (
        await query<{ slot_name: string }>(
          cluster.connectionString(),
          'SELECT slot_name FROM pg_replication_slots WHERE database = $1 ORDER BY 1',
          [db],
        )
      ).map((x) => strip(x.slot_name));
    return {
      azure_promote: { 'orders-dr': r.arm.role('orders-dr'), 'orders-main': r.arm.role('orders-main') },
      fence_returning_primary: lab.fence,
      reprotect: {
        old_primary: back,
        publication: publication.map((x) => x.t),
        retired_subscription_left: retired.length > 0,
        dr_slots: await slots(this.lab.subscriber),
        old_primary_slots: await slots(this.lab.publisher),
      },
    };
  }

  private async dumpExists(r: DataPlan): Promise<boolean> {
    const client = s3Client({
      bucket: DUMP_BUCKET,
      prefix: '',
      region: 'us-east-1',
      endpoint: this.lab.s3.endpoint,
      force_path_style: true,
      access_key_id: this.lab.s3.accessKeyId,
      secret_access_key: this.lab.s3.secretAccessKey,
    });
    try {
      return await client
        .send(new HeadObjectCommand({ Bucket: DUMP_BUCKET, Key: r.dumpKey }))
        .then(() => true)
        .catch(() => false);
    } finally {
      client.destroy();
    }
  }

  /**
   * Effects applied more than once: a second timeline on the standby (a promote that ran twice), rows
   * restored twice by key in the cold database, a second promote accepted by ARM, rows copied twice back
   * to the old primary, a second schema of rows kept aside. A dump uploaded again is not one (it replaces
   * the same object with a newer dump): it is counted apart, in `repeated`.
   */
  async duplicated(r: DataRound): Promise<Record<string, number>> {
    if (r.standby) {
      const [tl] = await query<{ n: number }>(
        r.standby.connectionString(),
        "SELECT count(*)::int AS n FROM pg_ls_waldir() WHERE name LIKE '%.history'",
      );
      const [cold] = await query<{ n: number }>(
        roleUrl(this.lab.subscriber, ADMIN_ROLE, r.cold),
        'SELECT (count(*) - count(DISTINCT id))::int AS n FROM items',
      ).catch(() => [{ n: 0 }]);
      return { promote_timelines: Math.max(0, tl.n - 1), dump_restore_rows: cold.n };
    }
    const [back] = await query<{ rows: number; kept: number }>(
      this.lab.publisher.connectionString(r.pair!.database),
      `SELECT (SELECT (count(*) - count(DISTINCT id))::int FROM orders) AS rows,
              (SELECT count(*)::int FROM information_schema.schemata WHERE schema_name LIKE 'phoenix_before_%') AS kept`,
    );
    const promotes = r.arm.requests.filter(
      (q) => q.method === 'PATCH' && /promoteMode/.test(q.body) && /orders-dr$/i.test(q.path),
    ).length;
    return {
      azure_promote_requests: Math.max(0, promotes - 1),
      reprotect_rows: back.rows,
      reprotect_kept_schemas: Math.max(0, back.kept - 1),
    };
  }

  /** Harmless repeats: the dump uploaded again after an attempt cut short. */
  repeated(r: DataPlan): Record<string, number> {
    return r.kind === 'data' ? { dump_upload: this.uploads.repeats(`${DUMP_BUCKET}/${r.dumpKey}`) } : {};
  }

  /** Drops what the round made, so the servers' slot and connection limits hold for the next. */
  async cleanup(plan: DataPlan, round?: DataRound): Promise<void> {
    await plan.arm.stop();
    if (plan.kind === 'wayback') {
      const db = this.lab.names(plan.index).database;
      // Read-only after the fence and the reprotect: a session that may write.
      const oldPrimary = `${this.lab.publisher.connectionString(db)}?options=${encodeURIComponent('-c default_transaction_read_only=off')}`;
      await query(oldPrimary, `ALTER SUBSCRIPTION ${FAILBACK} DISABLE`).catch(() => undefined);
      await query(oldPrimary, `ALTER SUBSCRIPTION ${FAILBACK} SET (slot_name = NONE)`).catch(() => undefined);
      await query(oldPrimary, `DROP SUBSCRIPTION IF EXISTS ${FAILBACK}`).catch(() => undefined);
      await dropSlots(this.lab.subscriber, db);
      await this.lab.cleanup(round?.pair ?? this.lab.names(plan.index));
      return;
    }
    await query(
      this.lab.subscriber.connectionString(),
      `DROP DATABASE IF EXISTS ${plan.cold} WITH (FORCE)`,
    ).catch((e: Error) => process.stderr.write(`could not drop ${plan.cold}: ${e.message}\n`));
    // The standby may have been started by a prepare that failed after it: stopped by its data directory.
    const standby = round?.standby ?? clusterHandle(join(plan.dir, 'standby', 'data'), plan.standbyPort);
    await standby.stop().catch(() => undefined);
    await waitUntil(
      async () => {
        await query(
          this.phys.connectionString(),
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'standby_%' AND NOT active",
        );
        const left = await query(
          this.phys.connectionString(),
          "SELECT 1 FROM pg_replication_slots WHERE slot_name LIKE 'standby_%'",
        );
        return left.length === 0;
      },
      30_000,
      "the standby's slot to go",
      200,
    ).catch(() => undefined);
    rmSync(join(plan.dir, 'standby'), { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    await this.uploads.stop();
    await new Promise<void>((r) => this.health.close(() => r()));
    await this.phys.stop();
  }
}

/** Drops the idle replication slots of `database` on a cluster (the reprotect's, on the DR database). */
async function dropSlots(cluster: PostgresCluster, database: string): Promise<void> {
  await waitUntil(
    async () => {
      await query(
        cluster.connectionString(),
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active',
        [database],
      );
      return (
        (
          await query(cluster.connectionString(), 'SELECT 1 FROM pg_replication_slots WHERE database = $1', [
            database,
          ])
        ).length === 0
      );
    },
    30_000,
    `the replication slots of ${database} to go`,
    200,
  ).catch(() => undefined);
}
