import type { Command } from 'commander';
import { registerRunbookCommand } from './failover.js';

export function registerReprotect(program: Command): void {
  registerRunbookCommand(
    program,
    'reprotect',
    'reprotect',
    'run the reprotect runbook after a failover: the DR side publishes, the rebuilt primary subscribes (initial copy, then streaming), objects flow back',
  );
}
