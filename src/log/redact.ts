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

/** Redacts every URL inside a message (an error from a library, a body echoed by a server). */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (url) => redactUrl(url));
}
