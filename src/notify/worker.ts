import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { AlarmRepository } from '../alarms/repository.ts';
import type { AlarmService } from '../alarms/service.ts';
import type { ResidentRepository } from '../store/residents.ts';
import type { Channel } from './channels/channel.ts';
import { keepsRecord, type OutboxItem, type OutboxRepository } from '../alarms/outbox-repository.ts';
import { notificationBody } from './payload.ts';
import { recipientOf } from '../escalation/targets.ts';

export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
  /** A record-keeping webhook (a station's or provider's system, not a person: keepsRecord) is owed every notice: tried this long from its creation. */
  webhookForMs: number;
}

/**
 * 2, 4, 8 … s up to a minute, ±20 % jitter. An alert (raised, escalated,
 * reminder) about an alarm still open is retried for as long as the alarm is
 * open: nobody may stop being told because their gateway was down for five
 * minutes. Other notices (acknowledged, resolved) stop after `maxAttempts`
 * for a person (an SMS about an alarm handled an hour ago helps nobody); a
 * station's or provider's webhook is a system that keeps the record, and it
 * is owed every notice (keepsRecord): tried for a day, so that a
 * receiver down for half an hour still gets the alarm raised and acknowledged
 * meanwhile.
 */
export const defaultRetry: RetryPolicy = { maxAttempts: 8, baseMs: 2_000, maxMs: 60_000, webhookForMs: 24 * 3_600_000 };

const alertEvents = new Set(['alarm.raised', 'alarm.escalated', 'alarm.reminder']);

export function backoffMs(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return Math.round(exp * (0.8 + 0.4 * random()));
}

export interface OutboxWorkerDeps {
  outbox: OutboxRepository;
  alarms: AlarmRepository;
  service: AlarmService;
  residents: ResidentRepository;
  channels: Channel[];
  clock: Clock;
  log: Logger;
  retry?: RetryPolicy;
  onAttempt?: (channel: string, ok: boolean) => void;
  /** This node's name (CAREBELL_NODE_ID): deliveries it sends are leased to it. */
  node?: string;
  /** How long a delivery stays leased to the node sending it: longer than one attempt can take (a webhook's 10 s timeout). Default 60 s. */
  leaseMs?: number;
}

export const DELIVERY_LEASE_MS = 60_000;

/**
 * Sends what the outbox owes. Every send runs on its own (a slow or dead
 * channel never delays another), every attempt lands on the alarm's timeline,
 * failures are retried with exponential backoff and jitter, and after the last
 * attempt the failure is recorded while the ladder carries on.
 */
export class OutboxWorker {
  readonly #d: OutboxWorkerDeps;
  readonly #channels: Map<string, Channel>;
  readonly #retry: RetryPolicy;
  readonly #inFlight = new Map<number, Promise<void>>();
  /**
   * Deliveries claimed here whose attempt could not be read or recorded (the
   * store out of reach): still leased to this node, taken again at the next
   * tick instead of waiting out the lease, so an outage of the database
   * delays a notification by its own length, not by a lease.
   */
  readonly #held = new Set<number>();
  /** Letting go of what this node held when it last stopped: once, before the first claim of any tick. */
  #released: Promise<unknown> | undefined;

  constructor(deps: OutboxWorkerDeps) {
    this.#d = deps;
    this.#channels = new Map(deps.channels.map((c) => [c.name, c]));
    this.#retry = deps.retry ?? defaultRetry;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Claims every due delivery nobody holds (outbox-repository.ts `claim`: a
   * lease, so several nodes on one database never send the same one) and
   * starts it; resolves when those started now have settled. The first tick
   * lets go of what this node held when it last stopped.
   */
  async tick(): Promise<void> {
    const node = this.#d.node ?? 'local';
    // Shared by ticks that start together: a second release running after the first tick's claim
    // would let go of deliveries this node is sending, and another node would send them again.
    this.#released ??= this.#d.outbox.releaseLeases(node).catch((err: unknown) => {
      this.#released = undefined; // tried again at the next tick
      throw err;
    });
    await this.#released;
    const started: Promise<void>[] = [];
    const now = this.#d.clock.now();
    const leaseUntil = now + (this.#d.leaseMs ?? DELIVERY_LEASE_MS);
    const held = [...this.#held].filter((id) => !this.#inFlight.has(id));
    const again = held.length > 0 ? await this.#d.outbox.renew(node, held, leaseUntil) : [];
    for (const id of held) this.#held.delete(id);
    for (const item of [...again, ...(await this.#d.outbox.claim(node, now, leaseUntil))]) {
      if (this.#inFlight.has(item.id)) continue;
      const p = this.#deliver(item)
        .catch((err: unknown) => {
          this.#held.add(item.id);
          this.#d.log.warn({ err, outboxId: item.id }, 'delivery not finished (the store is out of reach); tried again at the next tick');
        })
        .finally(() => this.#inFlight.delete(item.id));
      this.#inFlight.set(item.id, p);
      started.push(p);
    }
    await Promise.all(started);
  }

  /** Resolves when nothing is in flight. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight.values());
  }

  /** When this delivery first failed, from its failure line. */
  async #firstFailure(alarms: AlarmRepository, item: OutboxItem): Promise<number | undefined> {
    const first = item.failureEntry === null ? undefined : (await alarms.timelineEntry(item.failureEntry))?.detail?.firstFailedAt;
    return typeof first === 'string' ? Date.parse(first) : undefined;
  }

  async #deliver(item: OutboxItem): Promise<void> {
    const { alarms, residents, service, clock, log } = this.#d;
    const alarm = await alarms.get(item.alarmId);
    const channel = this.#channels.get(item.delivery.channel);
    const attempt = item.attempts + 1;
    let error: string | undefined;
    let receipt: Record<string, unknown> | void = undefined;
    if (!alarm) error = 'alarm no longer exists';
    else if (!channel) error = `no channel ${item.delivery.channel}`;
    else {
      try {
        receipt = await channel.send(item, notificationBody(item, alarm, alarm.residentId ? residents.get(alarm.residentId) : undefined), alarm);
      } catch (err) {
        error = errorMessage(err);
      }
    }
    this.#d.onAttempt?.(item.delivery.channel, error === undefined);
    const now = clock.now();
    const target = describeTarget(item);
    // Which node sent it: with several nodes on one database, the timeline says.
    const about = { channel: item.delivery.channel, target, recipient: recipientOf(item.delivery.target), event: item.event, step: item.step, ...(this.#d.node ? { node: this.#d.node } : {}) };
    try {
      await service.transaction(async (tx) => {
        const timeline = alarms.in(tx);
        const outbox = this.#d.outbox.in(tx);
        // One line per failing delivery, rewritten at each attempt: how many, the last error, the next try.
        const failureLine = async (detail: Record<string, unknown>): Promise<number> => {
          const full = { ...about, attempts: attempt, firstFailedAt: new Date(item.failureEntry === null ? now : ((await this.#firstFailure(timeline, item)) ?? now)).toISOString(), ...detail };
          if (item.failureEntry === null) return timeline.addTimeline(item.alarmId, now, 'notify_failed', 'system', full);
          await timeline.updateTimelineDetail(item.failureEntry, full);
          return item.failureEntry;
        };
        if (error === undefined) {
          await outbox.delivered(item.id, attempt, now);
          if (item.failureEntry !== null) await failureLine({ attempts: attempt - 1, error: item.lastError, deliveredAt: new Date(now).toISOString() });
          await timeline.addTimeline(item.alarmId, now, 'notified', 'system', { ...about, attempt, result: 'delivered', ...receipt });
          service.changed(tx, item.alarmId, 'notified');
        } else if (alarm && (attempt < this.#retry.maxAttempts || (alertEvents.has(item.event) && alarm.state === 'open') || (keepsRecord(item.delivery) && now - item.createdAt < this.#retry.webhookForMs))) {
          const next = now + backoffMs(this.#retry, attempt);
          const entry = await failureLine({ error, retryAt: new Date(next).toISOString() });
          await outbox.retry(item.id, attempt, next, error, entry);
          service.changed(tx, item.alarmId, 'notify_failed');
          if (alertEvents.has(item.event)) await service.stepUnreached(item.alarmId, item.step, tx);
        } else {
          await outbox.failed(item.id, attempt, error);
          if (alarm) {
            await failureLine({ error, final: true });
            service.changed(tx, item.alarmId, 'notify_failed');
            if (alertEvents.has(item.event)) await service.stepUnreached(item.alarmId, item.step, tx);
          }
          log.error({ alarmId: item.alarmId, channel: item.delivery.channel, target, error }, 'notification failed after the last attempt');
        }
      });
    } catch (err) {
      // Sent (or tried) but not recorded: tried again while the lease is this node's. A receiver that
      // got it already gets it again with the same X-Carebell-Delivery.
      log.error({ err, outboxId: item.id }, 'could not record a delivery attempt');
      throw err;
    }
  }
}

export function describeTarget(item: OutboxItem): string {
  const t = item.delivery.target;
  switch (t.kind) {
    case 'station':
      return `${t.level} station ${t.name} (${t.id})`;
    case 'contact':
      return `contact ${t.name} (${t.relation}, priority ${t.priority})`;
    case 'provider':
      return `provider ${t.name} (${t.id})`;
    case 'device':
      return `${t.role === 'siren' ? 'siren' : 'device'} ${t.id}`;
  }
}
