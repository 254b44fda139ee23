import type { LabState } from '../../src/lab/index.js';

/** Every long-running process a lab started (PostgreSQL aside: its clusters are checked by data directory). */
export function labPids(state: LabState): number[] {
  return [
    state.s3!.process.pid,
    state.azurite!.process.pid,
    state.sync!.process.pid,
    state.dns!.process.pid,
    state.apps!.primary!.process.pid,
    state.apps!.dr!.process.pid,
    state.feeds!.process.pid,
  ];
}
