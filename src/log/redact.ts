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

/**
 * Names whose value is a credential, matched at the end of a longer name too, so environment variables
 * and SDK parameters are covered (`PGPASSWORD`, `DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`, Azure's
 * `AccountKey` and `SharedAccessKey`, `X-Amz-Security-Token`, `X-Amz-Signature`, `client_secret`).
 */
const SECRET_KEYS =
  'password|passwd|pwd|secret|token|api_?key|apikey|access_?key|account_?key|private_?key|sig|signature';

/** A name ending in a secret key: the optional prefix is a word's start (letters, digits, `_`, `-`, `.`). */
const SECRET_NAME = `(?<![\\w.-])[\\w.-]*?(?:${SECRET_KEYS})`;

/** `password=value`, `PGPASSWORD='quoted value'` (libpq quoting, with `\'` escapes), `?sig=...&`. */
const KEY_VALUE = new RegExp(
  `(${SECRET_NAME})(\\s*=\\s*)(?:'(?:[^'\\\\]|\\\\.)*'|"(?:[^"\\\\]|\\\\.)*"|[^${END}&;,]+)`,
  'gi',
);

/**
 * `"password": "value"` in JSON, also inside a JSON string (`\"password\":\"value\"`, what a tool's
 * output looks like once the journal's JSON is printed).
 */
const JSON_MEMBER = new RegExp(`("${SECRET_NAME}"\\s*:\\s*")(?:[^"\\\\]|\\\\.)*`, 'gi');
const ESCAPED_JSON_MEMBER = new RegExp(
  `(\\\\"${SECRET_NAME}\\\\"\\s*:\\s*\\\\")(?:[^"\\\\]|\\\\\\\\|\\\\(?!"))*`,
  'gi',
);

/** `Authorization: Bearer <token>` (curl -v, an SDK's request dump), `Basic`, `SharedKey acct:sig`, or bare. */
const AUTH_HEADER = new RegExp(
  `\\b((?:proxy-)?authorization|x-api-key|api-key|x-auth-token|ocp-apim-subscription-key)(\\s*[:=]\\s*)(?:(bearer|basic|token|digest|sharedkey(?:lite)?)\\s+)?[^${END},;]+`,
  'gi',
);

/** A bearer token anywhere else (`Bearer eyJ...` in an error message). */
const BEARER = /\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi;

/**
 * Hides the credentials in any text: URL passwords (parseable or not), key=value connection
 * strings and environment assignments, JSON members, authorization headers, bearer tokens and
 * secret query parameters. The host, port, user and database stay, so an error still says which
 * server it is about.
 */
export function redact(text: string): string {
  return text
    .replace(URL_PASSWORD, '$1:***@')
    .replace(AUTH_HEADER, (_all, name: string, sep: string, scheme?: string) =>
      scheme ? `${name}${sep}${scheme} ***` : `${name}${sep}***`,
    )
    .replace(BEARER, '$1 ***')
    .replace(JSON_MEMBER, '$1***')
    .replace(ESCAPED_JSON_MEMBER, '$1***')
    .replace(KEY_VALUE, '$1$2***');
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
