/** The calls to the model of the last hour, as kept durable: Unix seconds on the controller's clock. */
export interface CallLogState {
  calls: number[];
}

/** Where the log is kept (the store's named JSON states fit: `SqlDecisionStateStore`). */
export interface CallLogStore {
  load(): Promise<{ state: CallLogState } | undefined>;
  save(state: CallLogState, at: number): Promise<void>;
}

const HOUR_S = 3600;

/**
 * The model calls that `llm.max_calls_per_hour` counts. It outlives the analyzer that made them: an analyzer
 * built again (a key read late or rotated) is handed the same log, and with a store the log is read before
 * each call and written after it, so a restarted controller, or another replica on the same store, counts the
 * calls already made. The cap guards spending, so a store that does not answer does not stop the analysis: the
 * calls this process knows of still count, and `onStoreError` hears why.
 */
export class LlmCallLog {
  private calls: number[] = [];

  constructor(
    private readonly store?: CallLogStore,
    private readonly onStoreError?: (error: unknown) => void,
  ) {}

  /** Records a call at `now` unless `max` were made in the hour before; false when the cap is reached. */
  async take(now: number, max: number): Promise<boolean> {
    const known = new Set(this.calls);
    if (this.store) {
      try {
        for (const at of (await this.store.load())?.state.calls ?? []) known.add(at);
      } catch (error) {
        this.onStoreError?.(error);
      }
    }
    const calls = [...known].filter((at) => at > now - HOUR_S).sort((a, b) => a - b);
    this.calls = calls;
    if (calls.length >= max) return false;
    calls.push(now);
    if (this.store) {
      try {
        await this.store.save({ calls }, now);
      } catch (error) {
        this.onStoreError?.(error);
      }
    }
    return true;
  }
}
