/**
 * Lets a log line through once per key per window and counts the rest, so a
 * flood (wrong passwords, a device over its rate) is one line a minute with a
 * count, not thousands. The count of lines held back is returned with the next
 * line let through.
 */
export class LogLimiter {
  readonly #windowMs: number;
  readonly #seen = new Map<string, { at: number; suppressed: number }>();

  constructor(windowMs = 60_000) {
    this.#windowMs = windowMs;
  }

  /** undefined: stay quiet; a number: log now, that many similar lines were held back since the last. */
  admit(key: string, now: number): number | undefined {
    const entry = this.#seen.get(key);
    if (entry && now - entry.at < this.#windowMs) {
      entry.suppressed++;
      return undefined;
    }
    if (this.#seen.size >= 10_000) this.#seen.clear();
    const suppressed = entry?.suppressed ?? 0;
    this.#seen.set(key, { at: now, suppressed: 0 });
    return suppressed;
  }
}
