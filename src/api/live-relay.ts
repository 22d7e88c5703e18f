import type { Alarm } from '../core/alarm.ts';
import type { EventBus } from '../core/event-bus.ts';
import type { Logger } from '../core/logger.ts';
import type { SqlClient } from '../store/sql-client.ts';
import type { LiveStream } from './live.ts';

const CHANNEL = 'carebell_live';

interface Notice {
  event: 'alarm.raised' | 'alarm.updated';
  id: string;
  change?: string;
}

/**
 * The live stream across nodes (several nodes on one PostgreSQL database):
 * each alarm change committed on this node is announced (NOTIFY, a few bytes:
 * which alarm, what happened); each one another node announces is read from
 * the database and written to this node's clients, in the order announced.
 * So an operator's console shows every alarm in their scope whichever node
 * the device's SOS came in on. Nothing on the embedded database (one node).
 */
export async function relayLiveStream(deps: { sql: SqlClient; bus: EventBus; live: LiveStream; alarms: { get(id: string): Promise<Alarm | undefined> }; log: Logger }): Promise<void> {
  const { sql, bus, live, alarms, log } = deps;
  if (!sql.listen || !sql.notify) return;
  const announce = (notice: Notice) => void sql.notify!(CHANNEL, JSON.stringify(notice)).catch((err: unknown) => log.warn({ err, alarmId: notice.id }, 'could not tell the other nodes of an alarm change'));
  bus.on('alarm.raised', ({ alarm }) => announce({ event: 'alarm.raised', id: alarm.id }));
  bus.on('alarm.updated', ({ alarm, change }) => announce({ event: 'alarm.updated', id: alarm.id, change }));
  // One at a time, so an alarm's raise is written before the changes that follow it.
  let chain: Promise<void> = Promise.resolve();
  await sql.listen(CHANNEL, (payload) => {
    if (payload === null) return; // reconnected: what was missed is in GET /alarms; the stream goes on from here
    let notice: Notice;
    try {
      notice = JSON.parse(payload) as Notice;
    } catch {
      return;
    }
    chain = chain
      .then(async () => {
        const alarm = await alarms.get(notice.id);
        if (alarm) live.fromAnotherNode(notice.event, alarm, notice.change);
      })
      .catch((err: unknown) => log.warn({ err, alarmId: notice.id }, 'could not read an alarm another node changed'));
  });
}
