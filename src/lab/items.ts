/** The sample app's one table, on both sites. */
export const ITEMS_SCHEMA = `create table if not exists items (
  id bigserial primary key,
  body text not null,
  object_key text not null,
  site text not null,
  created_at timestamptz not null default now()
)`;
