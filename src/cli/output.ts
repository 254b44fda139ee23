// Straight from their modules, not the log barrel: every command loads this file, and pino need not load with it.
import { redact } from '../log/redact.js';
import { escapeControl } from '../log/terminal.js';

/**
 * The CLI's output boundary: whatever a command prints for a person goes through here, so
 * gathered text (status pages, change records, log lines, errors from servers) reaches the
 * terminal with its control characters escaped and its credentials hidden. JSON output passes
 * unchanged in effect (JSON already escapes control characters).
 */
export function terminalText(text: string): string {
  return escapeControl(redact(text));
}

export function print(text: string): void {
  process.stdout.write(terminalText(text));
}

export function printErr(text: string): void {
  process.stderr.write(terminalText(text));
}
