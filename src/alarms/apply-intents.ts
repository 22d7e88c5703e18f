import type { DeviceContext } from '../core/model.ts';
import type { Tx } from '../core/tx.ts';
import type { AlarmIntent } from '../rules/types.ts';
import type { AlarmService } from './service.ts';

/**
 * Turns a rule's intents into alarm changes: the step after the rules in the
 * one-way pipeline (rules → apply intents → alarm service → outbox). A
 * resident-level rule's alarms are the resident's, naming the device the
 * intent points to.
 */
export class IntentApplier {
  readonly #service: AlarmService;
  constructor(service: AlarmService) {
    this.#service = service;
  }

  /** Runs `fn` in the alarm service's unit of work (joining `within` when given). */
  transaction<T>(fn: (tx: Tx) => Promise<T>, within?: Tx): Promise<T> {
    return this.#service.transaction(fn, within);
  }

  /** Applies one intent inside `tx`. */
  async apply(device: DeviceContext, ruleKey: string, intent: AlarmIntent, residentLevel: boolean, tx: Tx): Promise<void> {
    const service = this.#service;
    const subject = residentLevel ? device.residentId! : device.id;
    switch (intent.action) {
      case 'raise':
        await service.raise({
          type: intent.alarm,
          severity: intent.severity,
          subject,
          deviceId: residentLevel ? ((intent.detail.deviceId as string | undefined) ?? null) : device.id,
          residentId: device.residentId,
          stationId: device.stationId,
          detail: intent.detail,
          actor: `rule:${ruleKey}`,
        }, tx);
        return;
      case 'clear':
        await service.autoClear(subject, intent.alarm, intent.reason, tx);
        return;
      case 'cancel':
        await service.cancelByResident(subject, intent.alarm, intent.reason, tx);
        return;
      case 'note':
        await service.noteOnOpen(subject, intent.alarm, intent.kind, intent.detail, tx);
        return;
    }
  }
}
