import type { FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.ts';
import type { EventBus } from '../core/event-bus.ts';
import { sha256 } from '../core/secrets.ts';

interface Watch {
  tokenDigest: string;
  userId: string | null;
  end: (reason: string) => void;
}

/**
 * Long-lived responses (the live stream, the traffic tap) opened with a login
 * end when that login stops being valid: logout, the account disabled, its
 * password changed (told at once through `session.revoked`), or the token's
 * expiry (checked before every write).
 */
export class LiveSessions {
  readonly #watches = new Set<Watch>();
  readonly #clock: Clock;

  constructor(bus: EventBus, clock: Clock) {
    this.#clock = clock;
    bus.on('session.revoked', ({ tokenDigest, userId, reason }) => {
      for (const w of [...this.#watches]) {
        if ((tokenDigest !== undefined && w.tokenDigest === tokenDigest) || (userId !== undefined && w.userId === userId)) {
          this.#watches.delete(w);
          w.end(reason);
        }
      }
    });
  }

  get size(): number {
    return this.#watches.size;
  }

  /** Calls `end` once, when the request's login is revoked; returns how to stop watching. */
  watch(req: FastifyRequest, end: (reason: string) => void): () => void {
    const w: Watch = { tokenDigest: sha256(req.bearerToken ?? ''), userId: req.principal?.userId ?? null, end };
    this.#watches.add(w);
    return () => this.#watches.delete(w);
  }

  /** True once the request's token has expired. */
  expired(req: FastifyRequest): boolean {
    return req.tokenExpiresAt != null && this.#clock.now() >= req.tokenExpiresAt;
  }
}
