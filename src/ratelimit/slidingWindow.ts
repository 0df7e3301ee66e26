/** Limits for one key: a 60-second sliding window and a 1-second burst window. */
export interface Limits {
  perMinute: number;
  burstPerSecond: number;
}

export interface Decision {
  allowed: boolean;
  /** The per-minute limit, for X-RateLimit-Limit. */
  limit: number;
  /** Requests left in the current minute window after this one. */
  remaining: number;
  /** Seconds until the minute window has room again (X-RateLimit-Reset). */
  resetSeconds: number;
  /** When refused: seconds to wait before a retry can succeed (Retry-After). */
  retryAfterSeconds: number;
}

const MINUTE_MS = 60_000;
const SECOND_MS = 1_000;
const MIN_CAPACITY = 8;

/**
 * An exact sliding-window log: the admissions of the last minute, oldest first, as a ring of
 * (millisecond, count) entries. Exact because one instance owns a key (a Durable Object in a
 * Worker, the process in Node), so no two requests for the key are ever counted concurrently.
 *
 * Every check costs O(1) amortised, whatever the limits: the counts of both windows are kept
 * running, and an entry is visited once when it leaves the second window and once when it leaves
 * the minute (a refusal also walks the entries that must leave before `cost` more fit, at most
 * `cost` of them). Admissions in one millisecond share an entry, so the ring holds at most
 * min(admissions in the last minute, 60,000) entries, and it shrinks again as they leave.
 */
export class SlidingWindow {
  private times = new Float64Array(MIN_CAPACITY);
  private counts = new Float64Array(MIN_CAPACITY);
  /** Ring index of the oldest entry. */
  private head = 0;
  /** Entries held. */
  private size = 0;
  /** Offset from head of the first entry within the last second (size when none is). */
  private secondStart = 0;
  private inMinute = 0;
  private inSecond = 0;
  /** The latest time seen: a clock that steps back is read as standing still. */
  private latest = Number.NEGATIVE_INFINITY;

  /** Entries held (for tests of its bounded memory). */
  get entries(): number {
    return this.size;
  }

  /** Entries the ring has room for (for tests of its bounded memory). */
  get capacity(): number {
    return this.times.length;
  }

  private at(offset: number): number {
    return (this.head + offset) & (this.times.length - 1);
  }

  /** The time of the entry by which `excess` admissions, counted from `offset` on, have been made. */
  private timeOfNth(offset: number, excess: number): number {
    let seen = 0;
    for (let i = offset; i < this.size; i++) {
      const j = this.at(i);
      seen += this.counts[j] as number;
      if (seen >= excess) return this.times[j] as number;
    }
    return this.times[this.at(this.size - 1)] as number;
  }

  private resize(capacity: number): void {
    const times = new Float64Array(capacity);
    const counts = new Float64Array(capacity);
    for (let i = 0; i < this.size; i++) {
      const j = this.at(i);
      times[i] = this.times[j] as number;
      counts[i] = this.counts[j] as number;
    }
    this.times = times;
    this.counts = counts;
    this.head = 0;
  }

  /**
   * Admits `cost` requests at once (a JSON-RPC batch counts each of its messages), or none: all
   * of them must fit in both windows.
   */
  check(time: number, limits: Limits, cost = 1): Decision {
    const now = time > this.latest ? time : this.latest;
    this.latest = now;
    const mask = this.times.length - 1;
    // Admissions leave the burst window a second after they were made...
    while (this.secondStart < this.size) {
      const j = (this.head + this.secondStart) & mask;
      if ((this.times[j] as number) > now - SECOND_MS) break;
      this.inSecond -= this.counts[j] as number;
      this.secondStart++;
    }
    // ...and the minute window a minute after (past the second's start already, so that moves back).
    while (this.size > 0 && (this.times[this.head] as number) <= now - MINUTE_MS) {
      this.inMinute -= this.counts[this.head] as number;
      this.head = (this.head + 1) & mask;
      this.size--;
      this.secondStart--;
    }
    if (this.size * 4 <= this.times.length && this.times.length > MIN_CAPACITY) {
      this.resize(this.times.length / 2);
    }
    const inMinute = this.inMinute;
    const inSecond = this.inSecond;

    // How many admissions must leave each window before `cost` more fit.
    const minuteExcess = inMinute + cost - limits.perMinute;
    const burstExcess = inSecond + cost - limits.burstPerSecond;
    const untilMinuteRoom = this.size > 0 ? (this.times[this.head] as number) + MINUTE_MS - now : 0;
    if (minuteExcess > 0 || burstExcess > 0) {
      // An admission leaves its window a minute (a second) after it was made; more than a window
      // holds never fits, so such a caller is told to wait a whole window.
      const minuteWait =
        minuteExcess <= 0
          ? 0
          : minuteExcess > inMinute
            ? MINUTE_MS
            : this.timeOfNth(0, minuteExcess) + MINUTE_MS - now;
      const burstWait =
        burstExcess <= 0
          ? 0
          : burstExcess > inSecond
            ? SECOND_MS
            : this.timeOfNth(this.secondStart, burstExcess) + SECOND_MS - now;
      return {
        allowed: false,
        limit: limits.perMinute,
        remaining: Math.max(0, limits.perMinute - inMinute),
        resetSeconds: Math.ceil(untilMinuteRoom / 1000),
        retryAfterSeconds: Math.max(1, Math.ceil(Math.max(minuteWait, burstWait) / 1000)),
      };
    }
    const last = this.size > 0 ? this.at(this.size - 1) : -1;
    if (last >= 0 && this.times[last] === now) {
      this.counts[last] = (this.counts[last] as number) + cost;
    } else {
      if (this.size === this.times.length) this.resize(this.times.length * 2);
      const j = this.at(this.size);
      this.times[j] = now;
      this.counts[j] = cost;
      this.size++;
    }
    this.inMinute += cost;
    this.inSecond += cost;
    return {
      allowed: true,
      limit: limits.perMinute,
      remaining: limits.perMinute - inMinute - cost,
      resetSeconds: Math.ceil(((this.times[this.head] as number) + MINUTE_MS - now) / 1000),
      retryAfterSeconds: 0,
    };
  }
}
