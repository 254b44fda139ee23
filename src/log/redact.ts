/**
 * The one home of redaction: every credential-bearing string the controller prints, logs, stores
 * in the journal or answers through the API goes through `redact` (credentials hidden, the rest
 * kept so the message still names the server) or `redactUrl` (a URL reduced to its origin).
 */

/** Characters that end a URL or a value inside a message, a JSON string or a quoted word. */
const END = `\\s"'<>\``;

/**
 * `scheme://user:password@host...` — the password runs to the last `@` of the word, so a
 * password with `#`, `/`, `?` or `@` that was never percent-encoded (a URL that does not parse)
 * is hidden whole.
 */
const URL_PASSWORD = new RegExp(
  `\\b([a-z][a-z0-9+.-]*://[^${END}:@/]*):[^${END}]*@(?=[^${END}@]*(?:[${END}]|$))`,
  'gi',
);

/** Keys whose value is a credential, in key=value connection strings (libpq) and query strings. */
const SECRET_KEYS = 'password|passwd|pwd|sslpassword|secret|client_secret|access_token|api_key|apikey|sig';

/** `password=value`, `password = 'quoted value'` (libpq quoting, with `\'` escapes), `?sig=...&`. */
const KEY_VALUE = new RegExp(
  `\\b(${SECRET_KEYS})(\\s*=\\s*)(?:'(?:[^'\\\\]|\\\\.)*'|"(?:[^"\\\\]|\\\\.)*"|[^${END}&;,]+)`,
  'gi',
);

/**
 * Hides the credentials in any text: URL passwords (parseable or not), key=value connection
 * strings, and secret query parameters. The host, port, user and database stay, so an error still
 * says which server it is about.
 */
export function redact(text: string): string {
  return text.replace(URL_PASSWORD, '$1:***@').replace(KEY_VALUE, '$1$2***');
}

/**
 * URLs in errors and logs keep only their origin: a Slack incoming-webhook URL is itself the
 * secret (its path), and query strings often carry tokens (`?t=…`, `?sig=…`). The one place where
 * both the log and the runbook journal (`runbook_steps.error`, readable through the API) get
 * their URLs from.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '[redacted url]';
  }
  const hidden = (parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search || parsed.hash;
  return `${parsed.protocol}//${parsed.host}${hidden ? '/[redacted]' : ''}`;
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/** Reduces every URL inside a message to its origin (an error from a library, a body echoed by a server). */
export function redactText(text: string): string {
  return redact(text).replace(URL_IN_TEXT, (url) => redactUrl(url));
}

/** A value with every string inside it (to a depth) passed through `map`; the shape kept, errors untouched. */
export function mapStrings<T>(value: T, map: (text: string) => string, depth = 8): T {
  if (typeof value === 'string') return map(value) as T;
  if (depth === 0 || value === null || typeof value !== 'object' || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map, depth - 1)) as T;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, item]) => [
      key,
      mapStrings(item, map, depth - 1),
    ]),
  ) as T;
}

/** Every string inside a value (a log line's fields, an API answer) redacted; the shape kept. */
export function redactDeep<T>(value: T): T {
  return mapStrings(value, redact);
}
