import { query, type PostgresCluster } from './postgres.js';
import { waitUntil } from './process.js';

/**
 * The lab's model of the managed services' permission model. RDS and Azure Flexible Server give the
 * customer an administrator that is NOT a superuser: on RDS a member of `rds_superuser` (and
 * `rds_replication` for logical slots), on Azure a member of `azure_pg_admin` with the REPLICATION
 * attribute. Here the same shape: `phoenix_admin` (the controller's role) is a member of a
 * `managed_admin` group holding pg_signal_backend and pg_read_all_stats, owns the app database and
 * its tables, and is not a superuser, so PostgreSQL itself refuses it ALTER SYSTEM and the like.
 * `app` is the application's own role.
 */
export const ADMIN_ROLE = 'phoenix_admin';
export const APP_ROLE = 'app';
export const PUBLICATION = 'phoenix_dr';
/**
 * The role a subscription connects to its publisher as: REPLICATION, SELECT on the published tables, and
 * a password, as Azure advises (a replication user apart from the admin) and as PostgreSQL 16+ requires
 * of a subscription a non-superuser owns ("Non-superusers must provide a password in the connection
 * string", and the publisher must ask for it: pg_hba.conf has scram-sha-256 for this role). A lab-only
 * password, on loopback.
 */
export const REPLICATION_ROLE = 'phoenix_repl';
export const REPLICATION_PASSWORD = 'phoenix-lab-replication';

/** The libpq conninfo a subscription uses to reach `database` on the publisher at `port`. */
export function replicationConninfo(port: number, database: string): string {
  return `host=127.0.0.1 port=${port} dbname=${database} user=${REPLICATION_ROLE} password=${REPLICATION_PASSWORD}`;
}
export const SUBSCRIPTION = 'phoenix_dr';

/**
 * The role that owns (creates, disables, drops) a subscription on a server of this major, as the managed
 * services allow it: from PostgreSQL 16 the admin role, a member of pg_create_subscription (Azure's
 * azure_pg_admin and RDS's rds_superuser hold it). Before 16 stock PostgreSQL lets only a superuser own
 * one; RDS and Azure let their admin do it through their own extensions, which the lab cannot run, so
 * there `postgres` stands in for the admin (docs/postgres-versions.md).
 */
export function subscriptionOwnerRole(major: number | undefined): string {
  return (major ?? 0) >= 16 ? ADMIN_ROLE : 'postgres';
}

/** A connection string for one of the lab's roles on a cluster. */
export function roleUrl(cluster: { port: number }, role: string, database: string): string {
  return `postgresql://${role}@127.0.0.1:${cluster.port}/${database}`;
}

/** Roles, the app database owned by the admin role, and its schema, as the admin role creates them. */
export async function createManagedDatabase(
  cluster: PostgresCluster,
  database: string,
  schema: string,
  options: { replication: boolean },
): Promise<void> {
  const su = cluster.connectionString();
  await query(
    su,
    `do $$ begin
       if not exists (select 1 from pg_roles where rolname = 'managed_admin') then
         create role managed_admin nologin;
         grant pg_signal_backend, pg_read_all_stats to managed_admin;
       end if;
       if not exists (select 1 from pg_roles where rolname = '${ADMIN_ROLE}') then
         create role ${ADMIN_ROLE} login createrole createdb nosuperuser in role managed_admin;
       end if;
       if not exists (select 1 from pg_roles where rolname = '${APP_ROLE}') then
         create role ${APP_ROLE} login nosuperuser;
       end if;
     end $$`,
  );
  // Azure's and RDS's admins may create subscriptions on either side (the way back subscribes the
  // old primary); from 16 stock PostgreSQL lets a member of pg_create_subscription do it.
  const [{ v }] = await query<{ v: number }>(su, "select current_setting('server_version_num')::int as v");
  if (v >= 160000) await query(su, `grant pg_create_subscription to ${ADMIN_ROLE}`);
  // REPLICATION is what rds_replication / Azure's admin get so that a subscriber can connect to them.
  if (options.replication) {
    await query(su, `alter role ${ADMIN_ROLE} replication`);
    await query(
      su,
      `do $$ begin
         if not exists (select 1 from pg_roles where rolname = '${REPLICATION_ROLE}') then
           create role ${REPLICATION_ROLE} login replication password '${REPLICATION_PASSWORD}';
         end if;
       end $$`,
    );
  }
  await query(su, `create database ${database} owner ${ADMIN_ROLE}`);
  const admin = roleUrl(cluster, ADMIN_ROLE, database);
  await query(admin, schema);
  await query(admin, `grant select, insert, update, delete on all tables in schema public to ${APP_ROLE}`);
  await query(admin, `grant usage, select on all sequences in schema public to ${APP_ROLE}`);
  if (options.replication) {
    // Its own CONNECT: a fence revokes PUBLIC's, and the subscription must reconnect through it.
    await query(admin, `grant connect on database ${database} to ${REPLICATION_ROLE}`);
    await query(admin, `grant select on all tables in schema public to ${REPLICATION_ROLE}`);
  }
}

/** The publication, created by the admin role as the table owner (FOR ALL TABLES needs a superuser). */
export async function createPublication(cluster: PostgresCluster, database: string): Promise<void> {
  const admin = roleUrl(cluster, ADMIN_ROLE, database);
  const tables = await query<{ t: string }>(
    admin,
    "select quote_ident(tablename) as t from pg_tables where schemaname = 'public' order by 1",
  );
  await query(admin, `create publication ${PUBLICATION} for table ${tables.map((r) => r.t).join(', ')}`);
}

/**
 * The DR database as a logical subscriber of `publisher`: the same schema (logical replication copies no
 * DDL), a subscription that copies the existing rows then streams, and the database read-only to
 * sessions (the apply worker still applies) until the cut-over opens it. PostgreSQL 15 requires a
 * subscription's owner to be a superuser, so here it stands for the service's own superuser that
 * created it on the admin's behalf; from PostgreSQL 16 a member of pg_create_subscription may own it.
 */
export async function subscribe(
  subscriber: PostgresCluster,
  publisher: PostgresCluster,
  database: string,
): Promise<void> {
  const [{ v }] = await query<{ v: number }>(
    subscriber.connectionString(),
    "select current_setting('server_version_num')::int as v",
  );
  const owner = roleUrl(subscriber, subscriptionOwnerRole(Math.floor(v / 10000)), database);
  const conninfo = replicationConninfo(publisher.port, database);
  await query(
    owner,
    `create subscription ${SUBSCRIPTION} connection '${conninfo}' publication ${PUBLICATION} with (copy_data = true, slot_name = '${SUBSCRIPTION}_${database}')`,
  );
  await query(
    roleUrl(subscriber, ADMIN_ROLE, database),
    `alter database ${database} set default_transaction_read_only = on`,
  );
}

/** `subscribe`, then waits until the subscription's initial copy is done and it streams. */
export async function subscribeStreaming(
  subscriber: PostgresCluster,
  publisher: PostgresCluster,
  database: string,
  timeoutMs: number,
): Promise<void> {
  await subscribe(subscriber, publisher, database);
  await waitUntil(
    () => subscriptionReady(subscriber, database),
    timeoutMs,
    'the subscription to stream',
    100,
  );
}

/** Waits until the subscription's initial copy is done and every table is streaming ('r'eady). */
export async function subscriptionReady(subscriber: PostgresCluster, database: string): Promise<boolean> {
  const rows = await query<{ pending: number; running: number }>(
    subscriber.connectionString(database),
    `select (select count(*) from pg_subscription_rel where srsubstate <> 'r')::int as pending,
            (select count(*) from pg_stat_subscription where pid is not null and relid is null)::int as running`,
  );
  return rows[0].pending === 0 && rows[0].running > 0;
}

/**
 * A managed database pair as the cut-over finds it: `database` with `schema` on both clusters, published
 * by `publisher`, and a subscription on `subscriber` that has copied the rows and streams, the subscriber
 * read-only to sessions until the cut-over opens it.
 */
export async function logicalPair(
  publisher: PostgresCluster,
  subscriber: PostgresCluster,
  database: string,
  schema: string,
  timeoutMs = 60_000,
): Promise<void> {
  await createManagedDatabase(publisher, database, schema, { replication: true });
  await createManagedDatabase(subscriber, database, schema, { replication: false });
  await createPublication(publisher, database);
  await subscribeStreaming(subscriber, publisher, database, timeoutMs);
}
