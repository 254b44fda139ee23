import type { CycleEvents, CycleRecord, HistoryPoint, StatusView } from './ports.js';

export function toHistoryPoint(record: CycleRecord): HistoryPoint {
  const signals: HistoryPoint['signals'] = {};
  for (const c of record.score.contributions) signals[c.signal] = { status: c.status, weight: c.weight };
  return { at: record.at, score: record.score.score, level: record.score.level, signals };
}

/**
 * The last cycles, kept in memory and fanned out to listeners. It serves the
 * dashboard on its own when no history store is attached, and is how cycle
 * events reach /metrics.
 */
export class RecentCycles implements StatusView, CycleEvents {
  private readonly records: CycleRecord[] = [];
  private readonly listeners = new Set<(record: CycleRecord) => void>();

  constructor(private readonly capacity = 2880) {}

  push(record: CycleRecord): void {
    this.records.push(record);
    if (this.records.length > this.capacity) this.records.shift();
    for (const listener of this.listeners) listener(record);
  }

  onCycle(listener: (record: CycleRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  latest(): CycleRecord | undefined {
    return this.records.at(-1);
  }

  history(since: number, limit = 5000): HistoryPoint[] {
    return this.records
      .filter((r) => r.at >= since)
      .slice(-limit)
      .map(toHistoryPoint);
  }

  decisions(limit: number): CycleRecord['decision'][] {
    return this.records
      .slice(-limit)
      .reverse()
      .map((r) => r.decision);
  }
}
