import type { Alarm } from '../../alarms/model.ts';
import type { OutboxItem } from '../outbox-repository.ts';
import type { NotificationBody } from '../payload.ts';

/** A way to reach people. send() resolves on delivery and throws with a reason otherwise. */
export interface Channel {
  readonly name: 'console' | 'webhook' | 'mqtt';
  send(item: OutboxItem, body: NotificationBody, alarm: Alarm): Promise<void>;
}
