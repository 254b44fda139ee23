import { randomBytes } from 'node:crypto';
import { holderId, type Lease, type LeaseStore } from '../store/index.js';
import { silentLogger, type Logger } from '../log/index.js';

export interface LeaderOptions {
  lease: LeaseStore;
  /** Seconds a lease lasts without renewal. */
  ttl_s: number;
  /** How often the lease is renewed (or, as a follower, tried); default a third of the TTL. */
  renew_s?: number;
  logger?: Logger;
  /** Called once leadership is won, before acting: load the state, resume runs. */
  onElected?: (token: number) => Promise<void> | void;
  /** Called when leadership is lost or given up; from then on nothing may act. */
  onDemoted?: (reason: string) => void;
}

export interface LeaderStatus {
  role: 'leader' | 'follower';
  /** This process's holder id. */
  self: string;
  /** Who holds the lease, as last read. */
  leader?: string;
  token?: number;
  expires_at?: number;
}

/**
 * The controller lease, as Patroni keeps its leader key: renewed well inside its TTL;
 * a leader that cannot renew demotes itself before the lease can expire (it stops acting
 * at `sent + 0.8 × TTL` by its own monotonic clock, counting from when the renewal that
 * succeeded was sent), so a follower that takes the lease after it expires never overlaps
 * with it. What a paused leader still tries after waking is refused by the store, which
 * checks the fencing token on every write.
 */
export class LeaderElector {
  readonly self: string;
  private token?: number;
  /** performance.now() after which this process may not act without a newer renewal. */
  private actUntil = 0;
  private lastSeen?: Lease;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly renew_s: number;
  private readonly logger: Logger;
  private busy?: Promise<void>;
  /** The elected callback still running (restoring state, resuming runs): renewals go on meanwhile. */
  private takingOver?: Promise<void>;

  constructor(private readonly options: LeaderOptions) {
    this.self = holderId(randomBytes(4).toString('hex'));
    this.renew_s = options.renew_s ?? options.ttl_s / 3;
    this.logger = options.logger ?? silentLogger();
  }

  /** The fencing token while this process leads and its lease is safely live; otherwise undefined. */
  currentToken(): number | undefined {
    if (this.token === undefined) return undefined;
    if (performance.now() >= this.actUntil) {
      this.demote('the lease could not be renewed in time');
      return undefined;
    }
    return this.token;
  }

  isLeader(): boolean {
    return this.currentToken() !== undefined;
  }

  status(): LeaderStatus {
    const token = this.currentToken();
    return {
      role: token === undefined ? 'follower' : 'leader',
      self: this.self,
      leader:
        this.lastSeen && this.lastSeen.expires_at > Date.now() / 1000 ? this.lastSeen.holder : undefined,
      token: this.lastSeen?.token,
      expires_at: this.lastSeen?.expires_at,
    };
  }

  /** Replaces the elected callback (set after the first try, for a standby). */
  onElected(callback: (token: number) => Promise<void> | void): void {
    this.options.onElected = callback;
  }

  onDemoted(callback: (reason: string) => void): void {
    this.options.onDemoted = callback;
  }

  /** Tries once, now; then keeps trying (follower) or renewing (leader) every `renew_s`. */
  async start(): Promise<LeaderStatus> {
    await this.step();
    this.schedule();
    return this.status();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.step().finally(() => this.schedule());
    }, this.renew_s * 1000);
  }

  private step(): Promise<void> {
    this.busy = (this.token === undefined ? this.tryAcquire() : this.renew()).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'the store did not answer the lease request');
    });
    return this.busy;
  }

  private async tryAcquire(): Promise<void> {
    const sent = performance.now();
    const { acquired, lease } = await this.options.lease.acquire(this.self, this.options.ttl_s);
    this.lastSeen = lease;
    if (!acquired || this.stopped) return;
    this.token = lease.token;
    this.actUntil = sent + this.options.ttl_s * 800;
    this.logger.warn({ token: lease.token, holder: this.self }, 'elected leader: this controller acts now');
    // Not awaited here: the next renewal is scheduled once this step ends, and taking over can wait
    // for the cycle in flight (a probe that times out: seconds). Awaited, a new leader whose take-over
    // outlasted 0.8 × TTL demoted itself before its first renewal, was elected again with a new token,
    // and so on while the primary's packets went unanswered (the multi-host lab's outage scenarios).
    const token = lease.token;
    this.takingOver = Promise.resolve()
      .then(() => this.options.onElected?.(token))
      .catch((error: unknown) => this.logger.error({ err: error, token }, 'taking over as leader failed'));
  }

  private async renew(): Promise<void> {
    const token = this.token!;
    const sent = performance.now();
    let renewed = false;
    try {
      renewed = await this.options.lease.renew(this.self, token, this.options.ttl_s);
    } finally {
      if (this.token === token) {
        if (renewed) this.actUntil = sent + this.options.ttl_s * 800;
        else if (performance.now() >= this.actUntil) this.demote('the store is not reachable');
      }
    }
    if (!renewed && this.token === token) this.demote('the lease was lost (expired or taken over)');
    this.lastSeen = (await this.options.lease.current().catch(() => undefined)) ?? this.lastSeen;
  }

  private demote(reason: string): void {
    if (this.token === undefined) return;
    this.logger.error(
      { token: this.token, reason },
      `demoted self: ${reason}; acting on nothing until elected again`,
    );
    this.token = undefined;
    this.options.onDemoted?.(reason);
  }

  /** Stops renewing and, when leading, gives the lease up so a follower takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.busy;
    await this.takingOver;
    const token = this.token;
    this.token = undefined;
    if (token !== undefined) await this.options.lease.release(this.self, token).catch(() => undefined);
  }
}
