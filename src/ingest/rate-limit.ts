/**
 * Per-device message rates: a token bucket for all of a device's messages and
 * a second one for those that carry events. A device over its message rate
 * still gets its events through (an SOS amid a telemetry flood is not lost)
 * until it is over its event rate too. Generous by default: real devices send
 * about one message a second at most.
 */
export interface RateLimits {
  messagesPerSecond: number;
  messageBurst: number;
  eventsPerSecond: number;
  eventBurst: number;
}

export const defaultRateLimits: RateLimits = { messagesPerSecond: 20, messageBurst: 200, eventsPerSecond: 2, eventBurst: 20 };

export class TokenBucket {
  #tokens: number;
  #at: number;
  constructor(
    readonly perSecond: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  /** Takes a token if there is one. */
  take(now: number): boolean {
    if (now > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
      this.#at = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** One device's buckets, and the episode of dropped messages under way (for one dead letter per episode). */
export interface DeviceRate {
  messages: TokenBucket;
  events: TokenBucket;
  dropped: number;
  droppedSince: number;
}

export const newDeviceRate = (limits: RateLimits, now: number): DeviceRate => ({
  messages: new TokenBucket(limits.messagesPerSecond, limits.messageBurst, now),
  events: new TokenBucket(limits.eventsPerSecond, limits.eventBurst, now),
  dropped: 0,
  droppedSince: 0,
});
