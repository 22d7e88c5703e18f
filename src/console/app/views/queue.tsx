import { useEffect, useState } from 'preact/hooks';
import { acknowledge, take } from '../actions.ts';
import { AlarmActions } from './alarm-actions.tsx';
import type { Alarm } from '../api.ts';
import { term } from '../i18n.ts';
import { elapsed, queueOrder, store, t, useConsole } from '../state.ts';
import { Dialog, type DialogKind } from './dialogs.tsx';

/** Waiting longer than these without an acknowledgement, a row turns amber, then red (telecare targets: 60 s, 180 s). */
export const AMBER_AFTER_S = 60;
export const RED_AFTER_S = 180;

export function urgency(alarm: Alarm, now: number): 'fresh' | 'late' | 'overdue' | 'handled' {
  if (alarm.state !== 'open') return 'handled';
  const waited = (now - Date.parse(alarm.raisedAt)) / 1000;
  return waited >= RED_AFTER_S ? 'overdue' : waited >= AMBER_AFTER_S ? 'late' : 'fresh';
}

/** The live alarm queue: critical first, then by age; keyboard-driven for a station PC. */
export function Queue() {
  const s = useConsole();
  const alarms = [...s.alarms.values()].sort(queueOrder);
  const [selected, setSelected] = useState(0);
  const [dialog, setDialog] = useState<DialogKind>(null);
  const current = alarms[Math.min(selected, alarms.length - 1)];
  // Providers see the queue of their residents but do not handle alarms: the stations do.
  const canAct = s.session?.user.role === 'admin' || s.session?.user.role === 'operator';

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (dialog || e.ctrlKey || e.metaKey || e.altKey || (e.target as HTMLElement).closest('input, textarea, select')) return;
      const key = e.key.toLowerCase();
      if (key === 'arrowdown' || key === 'j') setSelected((i) => Math.min(i + 1, alarms.length - 1));
      else if (key === 'arrowup' || key === 'k') setSelected((i) => Math.max(i - 1, 0));
      else if (key === 'm') store.set({ muted: !store.state.muted });
      else if (!current || !canAct) return;
      else if (key === 'enter') location.hash = `#/alarm/${current.id}`;
      else if (key === 'a' && current.state === 'open') void acknowledge(current.id).catch(() => {});
      else if (key === 't') void take(current.id).catch(() => {});
      else if (key === 'n') setDialog({ kind: 'note', alarmId: current.id });
      else if (key === 'r') setDialog({ kind: 'resolve', alarmId: current.id });
      else return;
      e.preventDefault();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [alarms.length, current?.id, current?.state, dialog, canAct]);

  return (
    <section class="queue">
      <div class="section-head">
        <h1>{t('queue.title')}</h1>
        {canAct && <span class="muted shortcuts">{t('queue.shortcuts')}</span>}
      </div>
      {alarms.length === 0 ? (
        <p class="empty card" data-testid="queue-empty">
          {t('queue.empty')}
        </p>
      ) : (
        <table class="alarms" data-testid="queue">
          <thead>
            <tr>
              <th>{t('queue.severity')}</th>
              <th>{t('queue.resident')}</th>
              <th>{t('queue.type')}</th>
              <th>{t('queue.elapsed')}</th>
              <th class="wide">{t('queue.level')}</th>
              <th>{t('queue.state')}</th>
              <th class="wide">{t('queue.owner')}</th>
              {canAct && <th>{t('queue.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {alarms.map((a, i) => {
              const resident = a.residentId ? s.residents.get(a.residentId) : undefined;
              return (
                <tr
                  key={a.id}
                  data-alarm={a.id}
                  data-urgency={urgency(a, s.now)}
                  class={`sev-${a.severity} urgency-${urgency(a, s.now)} ${i === selected ? 'selected' : ''}`}
                  onClick={() => setSelected(i)}
                  onDblClick={() => (location.hash = `#/alarm/${a.id}`)}
                >
                  <td>
                    <span class={`badge sev-${a.severity}`}>{term(s.lang, 'severity', a.severity)}</span>
                  </td>
                  <td class="resident">
                    <a href={`#/alarm/${a.id}`}>{resident?.name ?? a.residentId ?? a.deviceId}</a>
                    {resident?.livesAlone && <span class="tag">{t('detail.livesAlone')}</span>}
                  </td>
                  <td>
                    {term(s.lang, 'alarm', a.type)}
                    {a.count > 1 && <span class="muted"> ×{a.count}</span>}
                  </td>
                  <td class="elapsed" data-testid="elapsed">
                    {elapsed(a.raisedAt, s.now)}
                  </td>
                  <td class="wide">{term(s.lang, 'level', a.escalationLevel)}</td>
                  <td>
                    <span class={`state state-${a.state}`}>{term(s.lang, 'state', a.state)}</span>
                  </td>
                  <td class="wide">{a.assignedTo ?? a.acknowledgedBy ?? '—'}</td>
                  {canAct && (
                  <td>
                    <div class="actions">
                      <AlarmActions alarm={a} openDialog={setDialog} />
                    </div>
                  </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <Dialog dialog={dialog} close={() => setDialog(null)} />
    </section>
  );
}
