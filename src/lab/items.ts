import { query } from './postgres.js';

/**
 * The sample app's one table, on both sites. `client_key` is the writer's own unique key for a write:
 * ids come from a sequence that a promoted physical standby can hand out again, so lost writes are
 * counted by key, never by id.
 */
export const ITEMS_SCHEMA = `create table if not exists items (
  id bigserial primary key,
  body text not null,
  object_key text not null,
  site text not null,
  created_at timestamptz not null default now(),
  client_key text unique
)`;

/** Which of the writer's keys the database at `url` holds: loss is counted by key in every mode. */
export async function presentKeys(url: string, keys: string[]): Promise<Set<string>> {
  const rows = await query<{ client_key: string }>(
    url,
    'select client_key from items where client_key = any($1::text[])',
    [keys],
  );
  return new Set(rows.map((r) => r.client_key));
}
