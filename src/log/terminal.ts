/**
 * Control characters other than newline and tab (C0, DEL, C1) and the Unicode bidirectional
 * overrides: what lets a string move the cursor, rewrite a line, retitle the window or reorder
 * the text it is shown in.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = {
  '\r': '\\r',
  '\u001b': '\\x1b',
  '\b': '\\b',
  '\f': '\\f',
  '\v': '\\v',
};

/**
 * Text as a terminal may show it: every control character written out as an escape
 * (`\x1b`, `\r`, `\u202e`), so untrusted text (a status page, a change record, a log line)
 * cannot drive the operator's terminal. Newlines and tabs stay.
 */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    // DEL, C1 and bidi controls as \uXXXX: JSON.stringify leaves them raw, and this is the escape that
    // keeps a JSON line valid and its data the same.
    return code < 0x20
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
