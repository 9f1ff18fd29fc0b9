/**
 * The tokens one server process holds for one key: blocks leased from the key's counter row in
 * PostgreSQL (see gatekeeper.ts), spent here one per admitted request. The counter row counts
 * every token any process took, so however the processes share the window, no more than the cap
 * is admitted. What this file decides is how many tokens to take, and when to give unused ones back.
 */

/** Largest block one lease takes. */
export const MAX_BLOCK = 256;
/**
 * A lease never takes more than this fraction of what is left in the window (or of the day's
 * quota): blocks shrink as the window fills, down to one token, so that little is held anywhere
 * when the cap comes near. Applied by the lease statement, which alone sees the count under lock.
 */
export const SHARE_DIVISOR = 8;
/** A pool unused for this long gives its tokens back, so that demand moving to another process finds them. */
export const IDLE_RETURN_MS = 1_000;
/** A pool unused for this long is dropped (with it, the block size it had grown to). */
export const IDLE_FORGET_MS = 30_000;
/**
 * In a window's last seconds (by this process's estimate of the database's clock) held tokens are
 * not used: the request leases in its statement instead, so that a token is never spent on the
 * word of a window that may have turned. Larger than any plausible error of the estimate.
 */
export const WINDOW_END_MARGIN_MS = 2_000;

/** Tokens to give back to a key's counters (the `giveBack` a `TokenPools` is made with sends them). */
export interface GiveBack {
  subject: string;
  /** The minute window the tokens were taken in, and how many to give back to it (0: none). */
  minuteStart: Date;
  minuteTokens: number;
  /** The UTC day they were also counted in, and how many to give back to it (0: none). */
  dayStart: Date;
  dayTokens: number;
}

export interface Pool {
  subject: string;
  /** The window the tokens belong to (the database's clock), as milliseconds. */
  windowStart: number;
  dayStart: number;
  /** Whether the key has a daily quota: its tokens were counted against the day too. */
  daily: boolean;
  /** Tokens held and not promised to any request. */
  tokens: number;
  /** Highest count of the minute and day counters this process has seen in the window. */
  seenMinute: number;
  seenDay: number;
  /** The next lease's size: doubles while each block lasts less than a second, halves when the pool idles. */
  block: number;
  /** When the latest block-sized lease came back (ms). */
  lastLease: number;
  /** Requests of this key being admitted right now, and those of them that lease a block (0 or 1). */
  inFlight: number;
  leasing: number;
  lastUse: number;
  idleTimer: NodeJS.Timeout | undefined;
}

/** What a request takes before its admission statement: a token it holds, or the size of block to lease. */
export interface Ticket {
  /** The window of the token this request holds; undefined when it must lease. */
  reserved: Date | undefined;
  /** The block to lease when it holds no token, or when the window turned. */
  want: number;
  /** The block to lease although it holds a token of the current window (the pool runs low); 0: none. */
  topUp: number;
  /** Whether it leases a block for the pool (at most one such lease is on its way at a time). */
  leasing: boolean;
  /** The pool that counted this request among those in flight. */
  pool: Pool | undefined;
}

/** The admission statement's answer, as the pool needs it. */
export interface Outcome {
  subject: string;
  minuteStart: Date;
  dayStart: Date;
  daily: boolean;
  /** Whether the token the request held is of the database's current window: it is admitted with it. */
  confirmed: boolean;
  /** Whether the statement leased (no token held, the held one's window was over, or a top-up). */
  leased: boolean;
  /** Tokens taken by the lease from the minute counter, and from the day counter. */
  minuteLeased: number;
  dayLeased: number;
  /** The counters as the statement saw them (after its lease, if any). */
  minuteCount: number;
  dayCount: number;
}

/** A request's admission as the pool decides it: `remaining*` are the tokens left in the window for everyone. */
export interface Spent {
  admitted: boolean;
  minuteRemaining: number;
  dayRemaining: number;
}

/**
 * Every key's pool in this process, by presented secret. A pool lives while its key is in use
 * and gives its tokens back before it is dropped.
 */
export class TokenPools {
  readonly #pools = new Map<string, Pool>();
  readonly #giveBack: (back: GiveBack) => void;

  /** `giveBack` sends tokens back to the counters, off the request path; a failed give-back is safe (the tokens stay counted). */
  constructor(giveBack: (back: GiveBack) => void) {
    this.#giveBack = giveBack;
  }

  /** Before the admission statement: take a held token if there is one. `databaseNow`: the database's clock, as estimated here. */
  take(id: string, databaseNow: number): Ticket {
    const pool = this.#pools.get(id);
    if (!pool) return { reserved: undefined, want: 1, topUp: 0, leasing: false, pool: undefined };
    pool.inFlight += 1;
    pool.lastUse = Date.now();
    // A block at least as large as the demand right now (this process's requests of the key in flight).
    const block = Math.min(MAX_BLOCK, Math.max(pool.block, pool.inFlight));
    const windowEnding = databaseNow >= pool.windowStart + 60_000 - WINDOW_END_MARGIN_MS;
    if (pool.tokens > 0 && !windowEnding) {
      pool.tokens -= 1;
      // Running low: this request's statement also leases the next block, so that steady demand
      // finds tokens waiting instead of an empty pool.
      const topUp = pool.leasing === 0 && pool.tokens < Math.ceil(pool.block / 4) ? block : 0;
      if (topUp > 0) pool.leasing += 1;
      // Should its token be of a window that is over, it leases one for itself: at a window's turn
      // every request in flight holds one, and a block apiece would take much of the new window.
      return { reserved: new Date(pool.windowStart), want: 1, topUp, leasing: topUp > 0, pool };
    }
    // While a block is on its way, the requests that come meanwhile take one token each, for
    // themselves: a burst of arrivals on an empty pool does not take a block apiece. So do the
    // requests of a window's last seconds.
    if (pool.leasing > 0 || windowEnding) return { reserved: undefined, want: 1, topUp: 0, leasing: false, pool };
    pool.leasing += 1;
    return { reserved: undefined, want: block, topUp: 0, leasing: true, pool };
  }

  /**
   * The secret was not authenticated (revoked, expired, or a previous secret past its grace): its
   * pool goes, and gives back what it held (the key's other secret may still use the counters).
   */
  forget(id: string, ticket: Ticket): void {
    if (ticket.pool) {
      ticket.pool.inFlight -= 1;
      if (ticket.leasing) ticket.pool.leasing -= 1;
    }
    const pool = this.#pools.get(id);
    if (!pool) return;
    clearTimeout(pool.idleTimer);
    this.#pools.delete(id);
    this.#send(pool.subject, { minuteStart: pool.windowStart, minuteTokens: pool.tokens, dayStart: pool.dayStart, dayTokens: pool.daily ? pool.tokens : 0 });
  }

  /** After the admission statement: spend the request's token, or the first of its new block. */
  settle(id: string, ticket: Ticket, outcome: Outcome, caps: { minute: number; day: number | null }): Spent {
    if (ticket.pool) {
      ticket.pool.inFlight -= 1;
      if (ticket.leasing) ticket.pool.leasing -= 1;
    }
    const windowStart = outcome.minuteStart.getTime();
    const dayStart = outcome.dayStart.getTime();
    let pool = this.#pools.get(id);
    const reservedDay = pool?.dayStart ?? dayStart;
    if (!pool) {
      pool = {
        subject: outcome.subject,
        windowStart,
        dayStart,
        daily: outcome.daily,
        tokens: 0,
        seenMinute: 0,
        seenDay: 0,
        block: 1,
        lastLease: Date.now(),
        inFlight: 0,
        leasing: 0,
        lastUse: Date.now(),
        idleTimer: undefined,
      };
      this.#pools.set(id, pool);
    } else if (pool.windowStart < windowStart) {
      // The window turned: what the pool holds belongs to a window that is over. Its minute no
      // longer matters; its day does (the tokens were counted against the quota).
      if (pool.daily) this.#send(pool.subject, { minuteStart: pool.windowStart, minuteTokens: 0, dayStart: pool.dayStart, dayTokens: pool.tokens });
      Object.assign(pool, { windowStart, dayStart, tokens: 0, seenMinute: 0, seenDay: 0 });
    }
    pool.daily = outcome.daily;
    const current = pool.windowStart === windowStart;
    // A request holding a token of the current window is admitted with it; any other with the first token of its lease.
    const fromLease = outcome.confirmed ? 0 : 1;
    let admitted = outcome.confirmed;
    if (outcome.leased) {
      if (ticket.reserved !== undefined && !outcome.confirmed) {
        // The token it held is void: of a window that is over (its day share goes back), or of this
        // one when the key's limits were lowered below what is counted (it goes back whole).
        const sameWindow = ticket.reserved.getTime() === windowStart;
        this.#send(pool.subject, {
          minuteStart: ticket.reserved.getTime(),
          minuteTokens: sameWindow ? 1 : 0,
          dayStart: reservedDay,
          dayTokens: outcome.daily ? 1 : 0,
        });
      }
      const usable = outcome.daily ? Math.min(outcome.minuteLeased, outcome.dayLeased) : outcome.minuteLeased;
      // The day had less room than the minute: the minute tokens the day did not match go back at once.
      this.#send(pool.subject, { minuteStart: windowStart, minuteTokens: outcome.minuteLeased - usable, dayStart, dayTokens: 0 });
      if (!outcome.confirmed) admitted = usable > 0;
      const kept = Math.max(0, usable - fromLease);
      if (current) {
        pool.tokens += kept;
        // The previous block lasted less than a second: the next one is twice as large. (Blocks
        // that last longer would be given back unspent by keys used now and then.)
        const asked = outcome.confirmed ? ticket.topUp : ticket.want;
        if (usable > 0 && asked >= pool.block) {
          const now = Date.now();
          if (now - pool.lastLease < IDLE_RETURN_MS) pool.block = Math.min(MAX_BLOCK, asked * 2);
          pool.lastLease = now;
        }
      } else if (kept > 0 && outcome.daily) {
        // A late answer from a window that is over: its tokens are of no use any more, its day share goes back.
        this.#send(pool.subject, { minuteStart: windowStart, minuteTokens: 0, dayStart, dayTokens: kept });
      }
    }
    if (current) {
      pool.seenMinute = Math.max(pool.seenMinute, outcome.minuteCount);
      pool.seenDay = Math.max(pool.seenDay, outcome.dayCount);
    }
    const held = current ? pool.tokens : 0;
    const minuteTaken = current ? pool.seenMinute : outcome.minuteCount;
    const dayTaken = current ? pool.seenDay : outcome.dayCount;
    this.#watchIdle(id, pool);
    // Tokens other processes hold count as spent: the figure may be low, never high.
    return {
      admitted,
      minuteRemaining: Math.max(0, caps.minute - minuteTaken + held),
      dayRemaining: caps.day === null ? 0 : Math.max(0, caps.day - dayTaken + held),
    };
  }

  /** The tokens this process holds for a key. */
  held(id: string): number {
    return this.#pools.get(id)?.tokens ?? 0;
  }

  #watchIdle(id: string, pool: Pool): void {
    if (pool.idleTimer) return;
    const schedule = (ms: number) => {
      pool.idleTimer = setTimeout(check, Math.max(1, ms));
      pool.idleTimer.unref();
    };
    const check = () => {
      pool.idleTimer = undefined;
      if (this.#pools.get(id) !== pool) return;
      const quiet = Date.now() - pool.lastUse;
      if (pool.inFlight > 0 || quiet < IDLE_RETURN_MS) return schedule(IDLE_RETURN_MS - quiet);
      if (pool.tokens > 0) {
        // Demand stopped here: what is left goes back for other processes, and the next block is smaller.
        this.#send(pool.subject, { minuteStart: pool.windowStart, minuteTokens: pool.tokens, dayStart: pool.dayStart, dayTokens: pool.daily ? pool.tokens : 0 });
        pool.tokens = 0;
        pool.block = Math.max(1, Math.floor(pool.block / 2));
      }
      if (quiet >= IDLE_FORGET_MS) return void this.#pools.delete(id);
      schedule(IDLE_FORGET_MS - quiet);
    };
    schedule(IDLE_RETURN_MS);
  }

  #send(subject: string, back: { minuteStart: number; minuteTokens: number; dayStart: number; dayTokens: number }): void {
    if (back.minuteTokens <= 0 && back.dayTokens <= 0) return;
    this.#giveBack({
      subject,
      minuteStart: new Date(back.minuteStart),
      minuteTokens: Math.max(0, back.minuteTokens),
      dayStart: new Date(back.dayStart),
      dayTokens: Math.max(0, back.dayTokens),
    });
  }
}
