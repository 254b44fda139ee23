import type { z } from 'zod';
import { parseReference, SECRET_REFERENCE } from '../secrets/index.js';
import type { ConfigIssue } from './errors.js';

/** `${VAR}` and `${VAR:-default}`. */
export const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface InterpolateOptions {
  env: NodeJS.ProcessEnv;
  /** Secret references' values, when the caller read them; otherwise the references stay as written. */
  secrets?: ReadonlyMap<string, string>;
  /**
   * Check the file alone (`phoenix validate --offline`): an unset variable stays as written instead of
   * being a problem, so a file can be checked in CI without production's environment.
   */
  offline?: boolean;
  /**
   * A reference whose value was not read stays as written instead of being a problem (`phoenix run` starts
   * without the secrets it cannot read; a runbook still holding one is refused when it is planned).
   */
  keepUnread?: boolean;
  /** Why each unread reference could not be read, for the problem that names it. */
  failures?: ReadonlyMap<string, string>;
}

/** True when a value still holds a `${...}` reference: its shape is checked once the reference is resolved. */
export function holdsReference(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  return new RegExp(ENV_REFERENCE.source).test(value) || new RegExp(SECRET_REFERENCE.source).test(value);
}

/**
 * `${aws-sm:NAME#key}` / `${azure-kv:VAULT/NAME}`: checked always; replaced by
 * their values when the caller read them (`secrets`), else left for validation.
 */
function interpolateSecrets(
  text: string,
  path: string,
  { secrets, keepUnread, failures }: InterpolateOptions,
  issues: ConfigIssue[],
): string {
  return text.replace(SECRET_REFERENCE, (match, store: string, body: string) => {
    const ref = parseReference(store, body);
    if (typeof ref === 'string') {
      issues.push({ path, message: ref });
      return '';
    }
    if (!secrets) return match;
    const value = secrets.get(match);
    if (value === undefined && keepUnread) return match;
    if (value === undefined)
      issues.push({
        path,
        kind: 'environment',
        message: failures?.get(match) ?? `${match} could not be read; see the secret store's error above`,
      });
    return value ?? '';
  });
}

function interpolateString(text: string, path: string, options: InterpolateOptions, issues: ConfigIssue[]) {
  const replaced = text.replace(ENV_REFERENCE, (match, name: string, fallback: string | undefined) => {
    const found = options.env[name];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    if (options.offline) return match;
    issues.push({
      path,
      kind: 'environment',
      message: `environment variable ${name} is not set; export ${name}=... before starting, or write \${${name}:-default}`,
    });
    return '';
  });
  return interpolateSecrets(replaced, path, options, issues);
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string, then secret references; secrets never live
 * in the file itself. `path` is where `value` sits, for the problems found.
 */
export function interpolateReferences(
  value: unknown,
  path: string[],
  options: InterpolateOptions,
  issues: ConfigIssue[],
): unknown {
  if (typeof value === 'string') return interpolateString(value, path.join('.'), options, issues);
  if (Array.isArray(value))
    return value.map((item, i) => interpolateReferences(item, [...path, String(i)], options, issues));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        interpolateReferences(item, [...path, key], options, issues),
      ]),
    );
  }
  return value;
}

/**
 * What stands in for a value that still holds a reference while its shape is checked: it fits a string,
 * a URL and a token field alike. The reference itself is put back afterwards.
 */
const REFERENCE_STAND_IN = 'https://unresolved-reference.invalid/stand-in';

/** The value at a schema issue's path inside a parsed document. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root as Record<PropertyKey, unknown> | undefined;
  for (const key of path) node = node?.[key] as Record<PropertyKey, unknown> | undefined;
  return node;
}

function setAt(root: unknown, path: readonly PropertyKey[], value: unknown): void {
  const parent = valueAt(root, path.slice(0, -1)) as Record<PropertyKey, unknown> | undefined;
  if (parent && typeof parent === 'object') parent[path[path.length - 1]!] = value;
}

/**
 * `schema.safeParse(input)`, where a value that still holds an unresolved `${...}` reference (validate
 * --offline, a secret not read here) is not judged by its text: a URL-typed field holding
 * `${azure-kv:VAULT/NAME}` is fine until the reference is resolved, then checked as a URL. Such values are
 * kept as written in the result.
 */
export function parseHoldingReferences<T>(
  schema: z.ZodType<T>,
  input: unknown,
  /** Paths already explained otherwise (a variable not set, whose value is empty): treated alike. */
  explained: ReadonlySet<string> = new Set(),
): z.ZodSafeParseResult<T> {
  const first = schema.safeParse(input);
  if (first.success) return first;
  const held = first.error.issues.filter(
    (i) => holdsReference(valueAt(input, i.path)) || explained.has(i.path.join('.')),
  );
  if (!held.length || held.length !== first.error.issues.length) return first;
  const standIn = structuredClone(input);
  for (const issue of held) setAt(standIn, issue.path, REFERENCE_STAND_IN);
  const again = schema.safeParse(standIn);
  if (!again.success) return first;
  for (const issue of held) setAt(again.data, issue.path, valueAt(input, issue.path));
  return again;
}
