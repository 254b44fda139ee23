/**
 * What the controller needs from its store to be one of several: a leader lease with a
 * fencing token, and its decision state. SQLite (embedded, one controller) and PostgreSQL
 * (several controllers) implement both; the controller depends only on these.
 */

/** The controller lease as the store holds it. */
export interface Lease {
  /** `host:pid:nonce` of the process holding it. */
  holder: string;
  /** Grows by one every time the lease changes hands (or is taken again after expiring); never reused. */
  token: number;
  /** Unix seconds, on the store's clock. */
  expires_at: number;
  acquired_at: number;
}

export interface LeaseStore {
  /**
   * Takes the lease when it is free, expired, held by a process of this host that is
   * gone, or already ours (then it is renewed with the same token). Returns the lease as
   * it stands afterwards, ours or another's.
   */
  acquire(holder: string, ttl_s: number): Promise<{ acquired: boolean; lease: Lease }>;
  /** Extends our lease; false when it expired or changed hands meanwhile (we are no longer leader). */
  renew(holder: string, token: number, ttl_s: number): Promise<boolean>;
  /** Gives the lease up (clean shutdown), so a follower takes over without waiting for the TTL. */
  release(holder: string, token: number): Promise<void>;
  current(): Promise<Lease | undefined>;
}

/** Thrown by a store that refuses a write because its fencing token is no longer the lease's. */
export class FencedError extends Error {
  readonly code = 'FENCED';
}

export interface StoredState<T> {
  state: T;
  /** When it was saved (Unix seconds, caller's clock). */
  at: number;
  /** The fencing token of the leader that wrote it. */
  token: number | null;
}

/** The decision core's memory (history, confirmation, cooldown), kept durable for restarts and takeovers. */
export interface DecisionStateStore<T = unknown> {
  load(): Promise<StoredState<T> | undefined>;
  /** Saves the state; with a token, refused (FencedError) unless the token is the current lease's. */
  save(state: T, at: number, token?: number): Promise<void>;
}

/**
 * A controller's fence: its fencing token, or FencedError when it no longer holds the live
 * lease. Called inside the transaction of each write it guards (journal writes, step
 * starts), so the check and the write commit together or not at all.
 */
export type Fence = () => Promise<number>;
