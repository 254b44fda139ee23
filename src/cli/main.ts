#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { loadCommands } from './commands/index.js';
import { reportError } from './errors.js';

// A closed pipe (`phoenix replay ... | head`) is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command();
program
  .name('phoenix')
  .description('CloudPhoenix: a disaster-recovery controller that fails over only when it would help')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

try {
  for (const register of await loadCommands(process.argv[2])) register(program);
} catch (error) {
  process.exitCode = reportError(error);
  process.exit();
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help / version text).
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    process.exitCode = reportError(error);
  }
}
