import { z } from 'zod';

/**
 * The configuration reference, rendered from the zod schemas themselves (through their JSON Schema), so
 * that docs/configuration.md cannot drift from what `phoenix validate` accepts. One row per key: where it
 * sits, what it takes, and its default.
 */
type Json = {
  type?: string | string[];
  properties?: Record<string, Json>;
  required?: string[];
  items?: Json;
  additionalProperties?: Json | boolean;
  anyOf?: Json[];
  oneOf?: Json[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  minItems?: number;
  format?: string;
  pattern?: string;
};

export interface ReferenceRow {
  path: string;
  takes: string;
  default?: string;
}

const list = (values: unknown[]) => values.map((v) => `\`${String(v)}\``).join(' \\| ');

/** One key's type, in words: the same words the validator's messages use. */
function describe(node: Json): string {
  if (node.enum) return list(node.enum);
  if (node.const !== undefined) return `\`${String(node.const)}\``;
  const variants = node.anyOf ?? node.oneOf;
  if (variants) return [...new Set(variants.map(describe))].join(' or ');
  const types = Array.isArray(node.type) ? node.type : node.type ? [node.type] : [];
  if (types.includes('number') && types.includes('string')) return 'duration (`30s`, `5m`, `1h`, or seconds)';
  const words = types.map((t) => {
    if (t === 'object') return node.properties ? 'mapping' : 'mapping of name → value';
    if (t === 'array') return `list of ${node.items ? describe(node.items) : 'values'}`;
    if (t === 'string' && node.format === 'uri') return 'URL';
    if (t === 'integer' || t === 'number') return range(t, node);
    return t;
  });
  return words.join(' or ') || 'any';
}

/** Bounds as far as they say something: zod's "any safe integer" is no bound to a reader. */
const bound = (n: number | undefined) =>
  n === undefined || Math.abs(n) >= Number.MAX_SAFE_INTEGER ? undefined : n;

function range(type: string, node: Json): string {
  const low = bound(node.minimum ?? node.exclusiveMinimum);
  const high = bound(node.maximum);
  if (low === undefined && high === undefined) return type;
  return `${type} ${low ?? '…'}–${high ?? '…'}`;
}

/** The variant's discriminator (`channel: slack`), when a union's members are told apart by a constant. */
function discriminator(node: Json): string | undefined {
  for (const [key, prop] of Object.entries(node.properties ?? {}))
    if (prop.const !== undefined) return `${key}: ${String(prop.const)}`;
  return undefined;
}

function walk(node: Json, path: string, rows: ReferenceRow[]): void {
  const variants = node.anyOf ?? node.oneOf;
  if (variants && variants.some((v) => v.properties)) {
    for (const variant of variants)
      if (variant.properties) {
        const tag = discriminator(variant);
        const at = tag ? (path ? `${path} (${tag})` : `(${tag})`) : path;
        walk({ ...variant, anyOf: undefined, oneOf: undefined }, at, rows);
      }
    return;
  }
  if (node.properties) {
    for (const [key, child] of Object.entries(node.properties)) {
      const at = path ? `${path}.${key}` : key;
      const required = node.required?.includes(key) && child.default === undefined;
      rows.push({
        path: at,
        takes: describe(child) + (required ? ' (required)' : ''),
        ...(child.default !== undefined ? { default: JSON.stringify(child.default) } : {}),
      });
      walk(child, at, rows);
    }
    return;
  }
  if (node.items && (node.items.properties || node.items.anyOf || node.items.oneOf))
    walk(node.items, `${path}[]`, rows);
  else if (typeof node.additionalProperties === 'object')
    walk(node.additionalProperties, `${path}.<name>`, rows);
}

/** Every key the schema accepts, depth first, in the order the schema declares them. */
export function referenceRows(schema: z.ZodType): ReferenceRow[] {
  const json = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as Json;
  const rows: ReferenceRow[] = [];
  walk(json, '', rows);
  return rows;
}

/** The rows as a Markdown table. */
export function referenceTable(schema: z.ZodType): string {
  const lines = ['| key | takes | default |', '| --- | --- | --- |'];
  for (const row of referenceRows(schema))
    lines.push(`| \`${row.path}\` | ${row.takes} | ${row.default ? `\`${row.default}\`` : ''} |`);
  return lines.join('\n');
}
