import type { Command } from 'commander';
import { registerRunbookCommand } from './failover.js';

export function registerFailback(program: Command): void {
  registerRunbookCommand(
    program,
    'failback',
    'failback',
    'run the failback runbook: return from the DR site to the primary once it is healthy',
  );
}
