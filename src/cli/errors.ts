// Straight from their modules: every command loads this file, and the barrels pull in the analyzers.
import { ConfigError } from '../config/errors.js';
import { ScenarioError } from '../replay/scenario.js';
import { printErr } from './output.js';

/** An error whose message is already the whole story for the user: no stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Prints an error as the one or more lines a person needs and returns the exit code. */
export function reportError(error: unknown): number {
  if (error instanceof ConfigError || error instanceof ScenarioError) {
    printErr(error.message + '\n');
    return 2;
  }
  if (error instanceof UserError) {
    printErr(`phoenix: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  printErr(`phoenix: ${message}\n`);
  if (process.env.PHOENIX_DEBUG) printErr(String((error as Error)?.stack ?? '') + '\n');
  else printErr('phoenix: (set PHOENIX_DEBUG=1 to see where this came from)\n');
  return 1;
}
