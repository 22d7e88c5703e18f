import { acknowledge, take } from '../actions.ts';
import type { Alarm } from '../api.ts';
import { t } from '../state.ts';
import type { DialogKind } from './dialogs.tsx';

/** A staff member's buttons for one alarm (queue row and detail view): acknowledge, take, note, resolve. */
export function AlarmActions({ alarm, openDialog, after }: { alarm: Alarm; openDialog: (d: DialogKind) => void; after?: () => void }) {
  if (alarm.state === 'resolved') return null;
  const then = (p: Promise<unknown>) => void p.then(() => after?.()).catch(() => {});
  return (
    <>
      {alarm.state === 'open' && (
        <button class="primary" onClick={() => then(acknowledge(alarm.id))} data-action="ack">
          {t('action.ack')}
        </button>
      )}
      {!alarm.assignedTo && (
        <button class="ghost" onClick={() => then(take(alarm.id))} data-action="take">
          {t('action.take')}
        </button>
      )}
      <button class="ghost" onClick={() => openDialog({ kind: 'note', alarmId: alarm.id })} data-action="note">
        {t('action.note')}
      </button>
      <button class="ghost" onClick={() => openDialog({ kind: 'resolve', alarmId: alarm.id })} data-action="resolve">
        {t('action.resolve')}
      </button>
    </>
  );
}
