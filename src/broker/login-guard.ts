/**
 * Failed MQTT logins, counted per client id and per address in a fixed window.
 * Over a limit, a wrong secret is answered late (a tarpit: each guess costs the
 * guesser seconds) while the right secret is always let in at once: a device
 * behind the same carrier-grade NAT as a misbehaving one never pays for it.
 * Refusals held back are bounded, so a flood cannot pile up open sockets.
 */
export interface LoginLimits {
  /** Failures allowed per client id in a window before refusals are held back. */
  perClientId: number;
  /** Failures allowed per address in a window (many devices share a NAT address). */
  perAddress: number;
  windowMs: number;
  /** The longest a refusal is held back. */
  maxDelayMs: number;
  /** Refusals held back at once; beyond this they are answered at once. */
  maxHeld: number;
}

export const defaultLoginLimits: LoginLimits = { perClientId: 5, perAddress: 50, windowMs: 60_000, maxDelayMs: 5_000, maxHeld: 1_000 };

/** Keys tracked at most: a flood of random client ids resets the window early instead of growing memory. */
const MAX_KEYS = 100_000;

export class LoginGuard {
  readonly #limits: LoginLimits;
  #windowStart = -Infinity;
  readonly #failures = new Map<string, number>();
  #held = 0;

  constructor(limits: LoginLimits = defaultLoginLimits) {
    this.#limits = limits;
  }

  get held(): number {
    return this.#held;
  }

  #roll(now: number): void {
    if (now - this.#windowStart >= this.#limits.windowMs || this.#failures.size >= MAX_KEYS) {
      this.#windowStart = now;
      this.#failures.clear();
    }
  }

  /** Records a failed login; returns how long to hold its refusal (0: answer now). */
  failed(clientId: string, address: string, now: number): number {
    this.#roll(now);
    const byId = this.#bump(`c\u0000${clientId}`);
    const byAddress = this.#bump(`a\u0000${address}`);
    const over = Math.max(byId - this.#limits.perClientId, byAddress - this.#limits.perAddress);
    if (over <= 0 || this.#held >= this.#limits.maxHeld) return 0;
    return Math.min(this.#limits.maxDelayMs, 250 * 2 ** Math.min(over - 1, 10));
  }

  #bump(key: string): number {
    const n = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, n);
    return n;
  }

  succeeded(clientId: string): void {
    this.#failures.delete(`c\u0000${clientId}`);
  }

  /** Holds `answer` back for `delayMs`, counting it among the refusals held. */
  hold(delayMs: number, answer: () => void): void {
    this.#held++;
    setTimeout(() => {
      this.#held--;
      answer();
    }, delayMs).unref();
  }
}
