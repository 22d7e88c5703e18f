import type { DeviceContext } from '../core/model.ts';
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

  /** Runs `fn` in the alarm service's unit of work (joining an enclosing one). */
  transaction<T>(fn: () => T): T {
    return this.#service.transaction(fn);
  }

  apply(device: DeviceContext, ruleKey: string, intent: AlarmIntent, residentLevel: boolean): void {
    const service = this.#service;
    const subject = residentLevel ? device.residentId! : device.id;
    switch (intent.action) {
      case 'raise':
        service.raise({
          type: intent.alarm,
          severity: intent.severity,
          subject,
          deviceId: residentLevel ? ((intent.detail.deviceId as string | undefined) ?? null) : device.id,
          residentId: device.residentId,
          stationId: device.stationId,
          detail: intent.detail,
          actor: `rule:${ruleKey}`,
        });
        return;
      case 'clear':
        service.autoClear(subject, intent.alarm, intent.reason);
        return;
      case 'cancel':
        service.cancelByResident(subject, intent.alarm, intent.reason);
        return;
      case 'note':
        service.noteOnOpen(subject, intent.alarm, intent.kind, intent.detail);
        return;
    }
  }
}
