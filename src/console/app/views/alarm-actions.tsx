import { acknowledge, take } from '../actions.ts';
import type { Alarm, Contact } from '../api.ts';
import { t } from '../state.ts';
import type { DialogKind } from './dialogs.tsx';

/** A staff member's buttons for one alarm (queue row and detail view): acknowledge, take, note, on site (detail), resolve. */
export function AlarmActions({ alarm, openDialog, after, detail = false, contacts }: { alarm: Alarm; openDialog: (d: DialogKind) => void; after?: () => void; detail?: boolean; contacts?: Contact[] }) {
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
      {detail && (
        <>
          <button class="ghost" onClick={() => openDialog({ kind: 'handover', alarmId: alarm.id })} data-action="handover">
            {t('action.handOver')}
          </button>
          <button class="ghost" onClick={() => openDialog({ kind: 'onsite', alarmId: alarm.id, ...(contacts ? { contacts } : {}) })} data-action="onsite">
            {t('action.onSite')}
          </button>
        </>
      )}
      <button class="ghost" onClick={() => openDialog({ kind: 'resolve', alarmId: alarm.id })} data-action="resolve">
        {t('action.resolve')}
      </button>
    </>
  );
}
