import type { EventBus } from '../core/event-bus.ts';
import type { DeviceDirectory } from '../devices/directory.ts';
import type { DeadLetterRepository } from '../store/dead-letters.ts';
import type { DeviceRecord } from '../store/devices.ts';

export interface ProvisioningCheck {
  name: 'registered' | 'connected' | 'valid_message' | 'no_rejected_messages';
  ok: boolean;
  at: string | null;
  detail: string;
  /** What `detail` says, for a console to put in its user's language: `connected.refused` with `vars` {action, reason, at}. */
  code: string;
  vars?: Record<string, string | number>;
}

export interface ProvisioningReport {
  deviceId: string;
  /** Connected and sent a valid message since onboarding: the installer may leave. */
  provisioned: boolean;
  checks: ProvisioningCheck[];
}

const MAX_REMEMBERED = 10_000;

/**
 * The installer's check at a home bed: has each device connected with its own
 * credentials and sent a message its profile accepts since it was onboarded?
 * Refused connections are remembered per client id (the last reason), so a
 * mistyped password shows here instead of only in the gateway's log.
 */
export class Provisioning {
  readonly #refusals = new Map<string, { at: number; reason: string; action: string }>();
  readonly #directory: DeviceDirectory;
  readonly #deadLetters: DeadLetterRepository;

  constructor(deps: { bus: EventBus; directory: DeviceDirectory; deadLetters: DeadLetterRepository; now: () => number }) {
    this.#directory = deps.directory;
    this.#deadLetters = deps.deadLetters;
    deps.bus.on('broker.refused', ({ clientId, reason, action }) => {
      if (!this.#directory.get(clientId)) return; // only registered devices: unknown ids could fill the map
      this.#refusals.delete(clientId);
      this.#refusals.set(clientId, { at: deps.now(), reason, action });
      if (this.#refusals.size > MAX_REMEMBERED) this.#refusals.delete(this.#refusals.keys().next().value!);
    });
  }

  async check(record: DeviceRecord): Promise<ProvisioningReport> {
    const live = this.#directory.get(record.id);
    const iso = (t: number | null | undefined) => (t == null ? null : new Date(t).toISOString());
    const lastSeen = live?.lastSeen ?? record.lastSeen;
    const firstMessageAt = live?.firstMessageAt ?? record.firstMessageAt;
    const refusal = this.#refusals.get(record.id);
    const rejected = (await this.#deadLetters.list({ deviceId: record.id, since: record.createdAt, limit: 1 }))[0];
    const rejectedCount = rejected ? await this.#deadLetters.count(record.id) : 0;
    const checks: ProvisioningCheck[] = [
      {
        name: 'registered',
        ok: record.decommissionedAt === null,
        at: iso(record.createdAt),
        detail: record.decommissionedAt === null ? `profile ${record.profileId}` : 'decommissioned',
        code: record.decommissionedAt === null ? 'registered.active' : 'registered.decommissioned',
        vars: { profile: record.profileId },
      },
      {
        name: 'connected',
        ok: lastSeen !== null,
        at: iso(lastSeen),
        code: live?.online ? 'connected.online' : lastSeen !== null ? 'connected.offline' : refusal ? 'connected.refused' : 'connected.never',
        ...(refusal && lastSeen === null ? { vars: { action: refusal.action, reason: refusal.reason, at: iso(refusal.at)! } } : {}),
        detail: live?.online
          ? 'online now'
          : lastSeen !== null
            ? 'connected before; offline now'
            : refusal
              ? `never accepted: last ${refusal.action} refused (${refusal.reason}) at ${iso(refusal.at)}; check the device id and password`
              : 'never connected: check the broker address, port, and that client id = username = device id',
      },
      {
        name: 'valid_message',
        ok: firstMessageAt !== null,
        at: iso(firstMessageAt),
        detail: firstMessageAt !== null ? 'a message its profile accepts has arrived' : 'no accepted message yet: press the button or wait for the first report',
        code: firstMessageAt !== null ? 'valid_message.arrived' : 'valid_message.none',
      },
      {
        name: 'no_rejected_messages',
        ok: rejected === undefined,
        at: iso(rejected?.receivedAt),
        detail: rejected ? `${rejectedCount} rejected since onboarding; last: ${rejected.reason}` : 'none rejected',
        code: rejected ? 'rejected.some' : 'rejected.none',
        ...(rejected ? { vars: { count: rejectedCount, reason: rejected.reason } } : {}),
      },
    ];
    return { deviceId: record.id, provisioned: checks[0]!.ok && checks[1]!.ok && checks[2]!.ok, checks };
  }
}
