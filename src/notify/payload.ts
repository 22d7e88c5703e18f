import type { Alarm } from '../core/alarm.ts';
import type { Resident } from '../store/residents.ts';
import type { OutboxItem } from '../alarms/outbox-repository.ts';

/** The documented JSON body of every notification: `{event, alarm, resident, step}`. */
export interface NotificationBody {
  event: string;
  deliveryId: number;
  alarm: {
    id: string;
    type: string;
    severity: string;
    state: string;
    raisedAt: string;
    deviceId: string | null;
    escalationLevel: number;
    count: number;
    acknowledgedBy: string | null;
    outcome: string | null;
    detail: Record<string, unknown> | null;
  };
  resident: { id: string; name: string; address: string; livesAlone: boolean; capabilityLevel: number; contacts: Array<{ name: string; relation: string; phone: string; priority: number }> } | null;
  step: { level: number; target: unknown };
}

export function notificationBody(item: OutboxItem, alarm: Alarm, resident: Resident | undefined): NotificationBody {
  return {
    event: item.event,
    deliveryId: item.id,
    alarm: {
      id: alarm.id,
      type: alarm.type,
      severity: alarm.severity,
      state: alarm.state,
      raisedAt: new Date(alarm.raisedAt).toISOString(),
      deviceId: alarm.deviceId,
      escalationLevel: alarm.escalationLevel,
      count: alarm.count,
      acknowledgedBy: alarm.acknowledgedBy,
      outcome: alarm.outcome,
      detail: alarm.detail,
    },
    resident: resident
      ? {
          id: resident.id,
          name: resident.name,
          address: resident.address,
          livesAlone: resident.livesAlone,
          capabilityLevel: resident.capabilityLevel,
          contacts: resident.contacts.map(({ name, relation, phone, priority }) => ({ name, relation, phone, priority })),
        }
      : null,
    step: { level: item.step, target: item.delivery.target },
  };
}
