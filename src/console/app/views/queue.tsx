import { useEffect, useState } from 'preact/hooks';
import { acknowledge, take } from '../actions.ts';
import { AlarmActions } from './alarm-actions.tsx';
import type { Alarm } from '../api.ts';
import { term, translate, type Lang } from '../i18n.ts';
import { elapsed, queueOrder, store, t, useConsole } from '../state.ts';
import { Dialog, type DialogKind } from './dialogs.tsx';
import { raisedBy } from './timeline.tsx';

/**
 * How urgent an unacknowledged alarm has become, by its own ladder: neutral
 * until the first escalation is due (a critical alarm: 60 s, 45 s for someone
 * living alone; a major one: 10 minutes), amber from then, red once its last
 * step is due (180 s for a critical alarm). A one-step ladder never turns.
 */
export function urgency(alarm: Alarm, now: number): 'fresh' | 'late' | 'overdue' | 'handled' {
  if (alarm.state !== 'open') return 'handled';
  const steps = alarm.ladder ?? [0];
  if (steps.length < 2) return 'fresh';
  const waited = (now - Date.parse(alarm.raisedAt)) / 1000;
  return waited >= steps[steps.length - 1]! ? 'overdue' : waited >= steps[1]! ? 'late' : 'fresh';
}

/** The same resident's other alarms raised within an hour of this one: one episode (a heart-rate alarm and its early-warning score). */
export function relatedAlarms(a: Alarm, all: Iterable<Alarm>): Alarm[] {
  if (!a.residentId) return [];
  const at = Date.parse(a.raisedAt);
  return [...all].filter((b) => b.id !== a.id && b.residentId === a.residentId && Math.abs(Date.parse(b.raisedAt) - at) <= 3_600_000);
}

/** "儿子 李明 赶往中，预计 20 分钟" / "son 李明: cannot go". */
export function responseText(r: Alarm['responses'][number], lang: Lang): string {
  const who = [r.relation ? term(lang, 'relation', r.relation) : '', r.name].filter(Boolean).join(' ');
  return r.going ? (r.etaMinutes !== null ? translate(lang, 'response.goingEta', { who, minutes: r.etaMinutes }) : translate(lang, 'response.going', { who })) : translate(lang, 'response.cannot', { who });
}

/** The live alarm queue: critical first, then by age; keyboard-driven for a station PC. */
export function Queue() {
  const s = useConsole();
  const [search, setSearch] = useState('');
  // Staff who see several community stations get a station column and a search box.
  const communities = [...s.stations.values()].filter((st) => st.level === 'community');
  const several = communities.length > 1;
  const matches = (a: Alarm): boolean => {
    const q = search.trim().toLowerCase();
    if (!q) return true;
    const resident = a.residentId ? s.residents.get(a.residentId) : undefined;
    return [resident?.name, resident?.address, s.stations.get(a.stationId ?? '')?.name, term(s.lang, 'alarm', a.type), a.deviceId].some((v) => v?.toLowerCase().includes(q));
  };
  const alarms = [...s.alarms.values()].filter(matches).sort(queueOrder);
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
        {several && (
          <input class="search" type="search" placeholder={t('queue.search')} value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} data-testid="queue-search" />
        )}
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
              {several && <th>{t('queue.station')}</th>}
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
                  {several && <td class="station">{s.stations.get(a.stationId ?? '')?.name ?? '—'}</td>}
                  <td class="resident">
                    <a href={`#/alarm/${a.id}`}>{resident?.name ?? a.residentId ?? a.deviceId}</a>
                    {resident?.livesAlone && <span class="tag">{t('detail.livesAlone')}</span>}
                    {a.responses.map((r) => (
                      <div class={`response ${r.going ? 'going' : 'cannot'}`} data-testid="response">
                        {responseText(r, s.lang)}
                      </div>
                    ))}
                  </td>
                  <td>
                    {term(s.lang, 'alarm', a.type)}
                    {a.count > 1 && <span class="muted"> ×{a.count}</span>}
                    {raisedBy(a.detail, s.lang) && <div class="values">{raisedBy(a.detail, s.lang)}</div>}
                    {(() => {
                      const related = relatedAlarms(a, alarms);
                      return related.length > 0 && (
                        <div class="related" data-testid="related" title={related.map((r) => term(s.lang, 'alarm', r.type)).join('、')}>
                          {t('queue.related', { n: related.length, types: related.map((r) => term(s.lang, 'alarm', r.type)).join('、') })}
                        </div>
                      );
                    })()}
                  </td>
                  <td class="elapsed" data-testid="elapsed" data-stale={s.lostSince !== null ? 'true' : undefined} title={s.lostSince !== null ? t('queue.stale') : undefined}>
                    {elapsed(a.raisedAt, s.now)}
                    {s.lostSince !== null && '?'}
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
