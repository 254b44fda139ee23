import type { StepState } from '../types.js';

/**
 * Progress kept in memory only: for an adapter called outside a runbook run (a notification, the lab's own
 * DNS answers), which no later attempt resumes. A run's steps get the store's (Journal's stepStateIn).
 */
export function transientState(): StepState {
  let saved: string | undefined;
  return {
    load: async <T>() => (saved === undefined ? undefined : (JSON.parse(saved) as T)),
    save: async (state) => {
      saved = JSON.stringify(state);
    },
  };
}
