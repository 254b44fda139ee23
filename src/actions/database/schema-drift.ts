import type pg from 'pg';
import { withClient } from '../../pg/index.js';
import { typeChange } from './type-widening.js';

/**
 * Schema drift on the logical path. Logical replication copies no DDL
 * (https://www.postgresql.org/docs/current/logical-replication-restrictions.html), so a migration
 * applied on the publisher only leaves the subscriber with another schema. What PostgreSQL then does
 * (https://www.postgresql.org/docs/current/logical-replication-subscription.html, "the target table"):
 * columns are matched by name; a published column the subscriber lacks stops the apply worker ("is
 * missing replicated column"), so every later change waits and a cut-over loses it; a published table
 * the subscriber lacks is never copied; values cross as text and go through the subscriber column's
 * input function, so a wider type takes every value (integer into bigint: a warning) and a narrower or
 * unrelated one fails or silently changes them (a narrower varchar errors, numeric into integer rounds:
 * breaking; see type-widening.ts, and a binary subscription converts nothing); a subscriber column the
 * publisher does not send is filled from its default, or is NULL, which a NOT NULL column without
 * default refuses.
 *
 * Every query reads catalogs a non-superuser may read on PostgreSQL 13-17: pg_publication_tables,
 * pg_class/pg_attribute, and the columns of pg_subscription granted to PUBLIC (subpublications).
 */

export type DriftKind =
  | 'table_missing'
  | 'column_missing'
  | 'type_mismatch'
  | 'type_widened'
  | 'generated_on_subscriber'
  | 'extra_not_null'
  | 'extra_column';

export interface DriftProblem {
  /** schema.table, as published. */
  table: string;
  column?: string;
  kind: DriftKind;
  /** `breaking`: data would be lost or the apply stops; `warning`: the schemas differ, nothing breaks. */
  severity: 'breaking' | 'warning';
  detail: string;
}

export interface SchemaDrift {
  publications: string[];
  tables_compared: number;
  problems: DriftProblem[];
  /** Tables with at least one breaking problem, and with only warnings. */
  breaking_tables: number;
  warning_tables: number;
}

interface Column {
  schema: string;
  table: string;
  column: string;
  type: string;
  not_null: boolean;
  has_default: boolean;
  generated: boolean;
}

const COLUMNS_SQL = `
  SELECT n.nspname AS schema, c.relname AS "table", a.attname AS "column",
         format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
         a.atthasdef AS has_default, a.attgenerated <> '' AS generated
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
   WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
   ORDER BY 1, 2, a.attnum`;

async function columns(client: pg.Client, tables: Array<[string, string]>): Promise<Column[]> {
  const { rows } = await client.query<Column>(COLUMNS_SQL, [
    tables.map((t) => t[0]),
    tables.map((t) => t[1]),
  ]);
  return rows;
}

const key = (schema: string, table: string) => `${quote(schema)}.${quote(table)}`;
function quote(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/**
 * The publications the subscription(s) read, and whether any asks for the binary format
 * (`pg_subscription.subbinary`, PostgreSQL 14+, granted to PUBLIC like every column but subconninfo).
 */
export async function subscriptionFormat(
  client: pg.Client,
  subscription?: string,
): Promise<{ publications: string[]; binary: boolean }> {
  const v14 = Number((await client.query('SHOW server_version_num')).rows[0].server_version_num) >= 140000;
  const { rows } = await client.query<{ pubs: string[]; binary: boolean }>(
    `SELECT subpublications AS pubs, ${v14 ? 'subbinary' : 'false'} AS binary FROM pg_subscription
      WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ($1::text IS NULL OR subname = $1)`,
    [subscription ?? null],
  );
  return {
    publications: [...new Set(rows.flatMap((r) => r.pubs))].sort(),
    binary: rows.some((r) => r.binary),
  };
}

/**
 * Compares the published tables' columns on the publisher with the same tables on the subscriber.
 * PostgreSQL 15+ publications may publish a column list (pg_publication_tables.attnames): only those
 * columns are compared there; before 15 every column but generated ones is published.
 */
export async function compareSchemas(
  publisher: pg.Client,
  subscriber: pg.Client,
  publications: string[],
  options: { binary?: boolean } = {},
): Promise<SchemaDrift> {
  // to_jsonb keeps one query for 13-17: attnames exists from 15 only.
  const { rows: published } = await publisher.query<{ t: Record<string, unknown> }>(
    'SELECT to_jsonb(pt) AS t FROM pg_publication_tables pt WHERE pubname = ANY($1::text[])',
    [publications],
  );
  const { rows: pubs } = await publisher.query<{ pubname: string }>(
    'SELECT pubname FROM pg_publication WHERE pubname = ANY($1::text[])',
    [publications],
  );
  const problems: DriftProblem[] = [];
  for (const missing of publications.filter((p) => !pubs.some((r) => r.pubname === p)))
    problems.push({
      table: '*',
      kind: 'table_missing',
      severity: 'breaking',
      detail: `publication ${missing} does not exist on the publisher: nothing of it is replicated`,
    });
  const lists = new Map<string, Set<string> | undefined>();
  for (const { t } of published) {
    const k = key(String(t.schemaname), String(t.tablename));
    const names = Array.isArray(t.attnames) ? new Set(t.attnames.map(String)) : undefined;
    // A table in two publications publishes the union of their column lists (no list: every column).
    const earlier = lists.get(k);
    if (lists.has(k) && (earlier === undefined || names === undefined)) lists.set(k, undefined);
    else lists.set(k, names && earlier ? new Set([...earlier, ...names]) : names);
  }
  const tables: Array<[string, string]> = [
    ...new Map(published.map(({ t }) => [key(String(t.schemaname), String(t.tablename)), t])).values(),
  ].map((t) => [String(t.schemaname), String(t.tablename)]);
  const [pubCols, subCols] = await Promise.all([columns(publisher, tables), columns(subscriber, tables)]);
  for (const [schema, table] of tables) {
    const k = key(schema, table);
    const list = lists.get(k);
    const sent = pubCols.filter(
      (c) => c.schema === schema && c.table === table && !c.generated && (!list || list.has(c.column)),
    );
    const there = subCols.filter((c) => c.schema === schema && c.table === table);
    if (there.length === 0) {
      problems.push({
        table: k,
        kind: 'table_missing',
        severity: 'breaking',
        detail: `${k} is published but does not exist on the subscriber: none of its rows are there; create it on the subscriber, then ALTER SUBSCRIPTION … REFRESH PUBLICATION`,
      });
      continue;
    }
    for (const col of sent) {
      const mine = there.find((c) => c.column === col.column);
      if (!mine)
        problems.push({
          table: k,
          column: col.column,
          kind: 'column_missing',
          severity: 'breaking',
          detail: `${k}.${quote(col.column)} (${col.type}) is published but missing on the subscriber: the apply stops at the first change; ALTER TABLE … ADD COLUMN on the subscriber`,
        });
      else if (mine.generated)
        problems.push({
          table: k,
          column: col.column,
          kind: 'generated_on_subscriber',
          severity: 'breaking',
          detail: `${k}.${quote(col.column)} is a generated column on the subscriber but published as data: the apply refuses it`,
        });
      else if (mine.type !== col.type) {
        const change = typeChange(col.type, mine.type, options.binary === true);
        problems.push({
          table: k,
          column: col.column,
          kind: change.widening ? 'type_widened' : 'type_mismatch',
          severity: change.widening ? 'warning' : 'breaking',
          detail: `${k}.${quote(col.column)} is ${col.type} on the publisher but ${mine.type} on the subscriber: ${change.why}`,
        });
      }
    }
    for (const extra of there.filter((c) => !c.generated && !sent.some((s) => s.column === c.column))) {
      const refuses = extra.not_null && !extra.has_default;
      // On 15+ a column list may leave out a column both sides have.
      const where = pubCols.some((c) => c.schema === schema && c.table === table && c.column === extra.column)
        ? "is left out of the publication's column list"
        : 'exists only on the subscriber';
      problems.push({
        table: k,
        column: extra.column,
        kind: refuses ? 'extra_not_null' : 'extra_column',
        severity: refuses ? 'breaking' : 'warning',
        detail: refuses
          ? `${k}.${quote(extra.column)} ${where}, NOT NULL without a default on the subscriber: every replicated INSERT fails`
          : `${k}.${quote(extra.column)} ${where} (replicated rows get ${extra.has_default ? 'its default' : 'NULL'})`,
      });
    }
  }
  const breaking = new Set(problems.filter((p) => p.severity === 'breaking').map((p) => p.table));
  const warned = new Set(problems.filter((p) => !breaking.has(p.table)).map((p) => p.table));
  return {
    publications,
    tables_compared: tables.length,
    problems,
    breaking_tables: breaking.size,
    warning_tables: warned.size,
  };
}

/** One line for a check's detail or a step's summary. */
export function describeDrift(drift: SchemaDrift): string {
  if (!drift.problems.length)
    return `no schema drift: ${drift.tables_compared} published tables match on the subscriber (${drift.publications.join(', ')})`;
  const head = `schema drift in ${drift.breaking_tables + drift.warning_tables} of ${drift.tables_compared} published tables (${drift.breaking_tables} would lose or break data)`;
  const shown = drift.problems.slice(0, 5).map((p) => p.detail);
  const more =
    drift.problems.length > shown.length ? `; and ${drift.problems.length - shown.length} more` : '';
  return `${head}: ${shown.join('; ')}${more}`;
}

/** Connects to both ends and compares; the publisher's absence is for the caller to handle. */
export async function checkSchemaDrift(
  p: { subscriber: string; publisher: string; subscription?: string },
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<SchemaDrift> {
  return withClient(
    p.subscriber,
    'subscriber',
    async (sub) => {
      const { publications, binary } = await subscriptionFormat(sub, p.subscription);
      return withClient(
        p.publisher,
        'publisher',
        (pub) => compareSchemas(pub, sub, publications, { binary }),
        options,
      );
    },
    options,
  );
}
