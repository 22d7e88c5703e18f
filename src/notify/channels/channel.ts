import type { Alarm } from '../../core/alarm.ts';
import type { OutboxItem } from '../../alarms/outbox-repository.ts';
import type { NotificationBody } from '../payload.ts';

/**
 * A way to reach people. send() resolves on delivery (with what is worth
 * saying on the timeline, e.g. how many consoles received it) and throws with
 * a reason otherwise.
 */
export interface Channel {
  readonly name: 'console' | 'webhook' | 'mqtt';
  send(item: OutboxItem, body: NotificationBody, alarm: Alarm): Promise<Record<string, unknown> | void>;
}
