import { useEffect, useState } from 'preact/hooks';
import { AlarmActions } from './alarm-actions.tsx';
import { api, type AlarmDetail, type Device, type Resident, type Series } from '../api.ts';
import { term, type Lang } from '../i18n.ts';
import { elapsed, store, t, useConsole, when } from '../state.ts';
import { acknowledge, take } from '../actions.ts';
import { VitalChart } from './chart.tsx';
import { Dialog, type DialogKind } from './dialogs.tsx';
import { DeviceList } from './devices.tsx';
import { Answer } from './answer.tsx';
import { raisedBy, Timeline } from './timeline.tsx';
import { CareCard } from './care.tsx';
import { relatedAlarms } from './queue.tsx';

const VITALS: Array<{ kinds: string[]; title: 'reading.heart_rate' | 'reading.spo2' | 'reading.blood_pressure' | 'reading.body_temperature'; unit: string }> = [
  { kinds: ['heart_rate'], title: 'reading.heart_rate', unit: 'bpm' },
  { kinds: ['spo2'], title: 'reading.spo2', unit: '%' },
  { kinds: ['systolic_bp', 'diastolic_bp'], title: 'reading.blood_pressure', unit: 'mmHg' },
  { kinds: ['body_temperature'], title: 'reading.body_temperature', unit: '°C' },
];

/** What a family member sees of a timeline: what people did, not the system's deliveries. */
export const familyKinds = new Set(['raised', 'escalated', 'acknowledged', 'assigned', 'responded', 'on_site', 'resolved', 'cancelled_by_resident', 'auto_cleared']);

/** What a timeline entry's detail says, in a line. */
export function detailText(detail: Record<string, unknown> | null, lang: Lang): string {
  if (!detail) return '';
  const parts: string[] = [];
  if (typeof detail.note === 'string') parts.push(detail.note);
  if (typeof detail.outcome === 'string') parts.push(term(lang, 'outcome', detail.outcome));
  if (typeof detail.target === 'string') parts.push(detail.target);
  if (typeof detail.channel === 'string') parts.push(`${detail.channel}${detail.error ? `: ${String(detail.error)}` : ''}`);
  if (typeof detail.to === 'string') parts.push(`→ ${detail.to}`);
  if (typeof detail.step === 'string') parts.push(detail.step);
  return parts.join(' · ');
}

/** One alarm: actions, its timeline, the resident card, their devices, and 24 h of vitals around it. */
export function AlarmDetailView({ id }: { id: string }) {
  const s = useConsole();
  const [alarm, setAlarm] = useState<AlarmDetail | null>(null);
  const [resident, setResident] = useState<Resident | null>(null);
  const [devices, setDevices] = useState<Device[]>([]);
  const [vitals, setVitals] = useState<Series[] | null>(null);
  const [vitalsWindow, setVitalsWindow] = useState<{ from: number; to: number }>({ from: 0, to: 0 });
  const [dialog, setDialog] = useState<DialogKind>(null);
  const [missing, setMissing] = useState(false);

  const load = async () => {
    try {
      const a = await api<AlarmDetail>('GET', `/alarms/${id}`);
      setAlarm(a);
      return a;
    } catch {
      setMissing(true);
      return null;
    }
  };

  useEffect(() => {
    let live = true;
    void (async () => {
      const a = await load();
      if (!a?.residentId || !live) return;
      const [r, d] = await Promise.all([api<Resident>('GET', `/residents/${a.residentId}`), api<Device[]>('GET', `/devices?residentId=${a.residentId}`)]);
      if (!live) return;
      setResident(r);
      setDevices(d);
      const raised = Date.parse(a.raisedAt);
      const to = Math.min(Date.now(), raised + 3_600_000);
      const q = `from=${new Date(to - 86_400_000).toISOString()}&to=${new Date(to).toISOString()}&points=200&kinds=heart_rate,spo2,systolic_bp,diastolic_bp,body_temperature`;
      const res = await api<{ series: Series[] }>('GET', `/residents/${a.residentId}/telemetry?${q}`).catch(() => ({ series: [] }));
      if (live) {
        setVitalsWindow({ from: to - 86_400_000, to });
        setVitals(res.series);
      }
    })();
    const refresh = (e: Event) => {
      const detail = (e as CustomEvent).detail as { id?: string; data?: { id?: string } };
      if (detail.id === id || detail.data?.id === id) void load();
    };
    addEventListener('carebell:live', refresh);
    addEventListener('carebell:changed', refresh);
    return () => {
      live = false;
      removeEventListener('carebell:live', refresh);
      removeEventListener('carebell:changed', refresh);
    };
  }, [id]);

  // The queue's keys work here too: A acknowledge, T take, N note, O on site, R resolve, Esc back.
  const staffHere = s.session?.user.role === 'admin' || s.session?.user.role === 'operator';
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!alarm || dialog || e.ctrlKey || e.metaKey || e.altKey || (e.target as HTMLElement).closest('input, textarea, select, [contenteditable]')) return;
      const key = e.key.toLowerCase();
      if (key === 'escape') location.hash = '#/';
      else if (key === 'm') store.set({ muted: !store.state.muted });
      else if (!staffHere || alarm.state === 'resolved') return;
      else if (key === 'a' && alarm.state === 'open') void acknowledge(alarm.id).then(load).catch(() => {});
      else if (key === 't' && !alarm.assignedTo) void take(alarm.id).then(load).catch(() => {});
      else if (key === 'n') setDialog({ kind: 'note', alarmId: alarm.id });
      else if (key === 'o') setDialog({ kind: 'onsite', alarmId: alarm.id, ...(resident ? { contacts: resident.contacts } : {}) });
      else if (key === 'r') setDialog({ kind: 'resolve', alarmId: alarm.id });
      else return;
      e.preventDefault();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [alarm?.id, alarm?.state, alarm?.assignedTo, dialog, staffHere, resident?.id]);

  if (missing) return <p class="card empty">404</p>;
  if (!alarm) return <p class="card empty">…</p>;
  const family = s.session?.user.role === 'family';
  const staff = s.session?.user.role === 'admin' || s.session?.user.role === 'operator';

  return (
    <section class="detail" data-testid="alarm-detail" data-state={alarm.state}>
      <div class="section-head">
        <a href="#/" class="ghost button">
          ← {t('action.back')}
        </a>
        <h1>
          <span class={`badge sev-${alarm.severity}`}>{term(s.lang, 'severity', alarm.severity)}</span> {term(s.lang, 'alarm', alarm.type)}
          {resident && <span class="muted"> · {resident.name}</span>}
        </h1>
        {raisedBy(alarm.detail, s.lang) && (
          <span class="values" data-testid="raised-by">
            {raisedBy(alarm.detail, s.lang)}
          </span>
        )}
        <span class={`state state-${alarm.state}`} data-testid="detail-state">
          {term(s.lang, 'state', alarm.state)}
        </span>
        {alarm.state !== 'resolved' && <span class="elapsed big">{elapsed(alarm.raisedAt, s.now)}</span>}
      </div>
      <div class="actions-bar">
        {family && alarm.state !== 'resolved' && <Answer alarm={alarm} />}
        {staff && <AlarmActions alarm={alarm} openDialog={setDialog} after={() => void load()} detail {...(resident ? { contacts: resident.contacts } : {})} />}
        {staff && <span class="muted shortcuts">{t('detail.shortcuts')}</span>}
        <span class="muted">
          {t('queue.level')}: {term(s.lang, 'level', alarm.escalationLevel)}
          {alarm.nextEscalation && alarm.state === 'open' && ` · ${t('detail.nextEscalation')} ${when(alarm.nextEscalation.dueAt, s.lang)}`}
        </span>
      </div>
      {resident && staff && <CareCard resident={resident} plan={alarm.responsePlan} />}
      {relatedAlarms(alarm, s.alarms.values()).length > 0 && (
        <div class="card related-alarms" data-testid="related-alarms">
          <h2>{t('detail.related')}</h2>
          <ul>
            {relatedAlarms(alarm, s.alarms.values()).map((r) => (
              <li>
                <a href={`#/alarm/${r.id}`}>
                  <span class={`badge sev-${r.severity}`}>{term(s.lang, 'severity', r.severity)}</span> {term(s.lang, 'alarm', r.type)}
                </a>{' '}
                <span class="muted">
                  {when(r.raisedAt, s.lang)} · {term(s.lang, 'state', r.state)}
                  {raisedBy(r.detail, s.lang) ? ` · ${raisedBy(r.detail, s.lang)}` : ''}
                </span>
              </li>
            ))}
          </ul>
        </div>
      )}
      <div class="detail-grid">
        <div class="card">
          <h2>{t('detail.timeline')}</h2>
          <Timeline entries={family ? alarm.timeline.filter((e) => familyKinds.has(e.kind)) : alarm.timeline} lang={s.lang} people={alarm.people} family={family} />
        </div>
        {resident && (
          <div class="card resident-card" data-testid="resident-card">
            <h2>{t('detail.resident')}</h2>
            <h3>{resident.name}</h3>
            <dl>
              <dt>{t('detail.address')}</dt>
              <dd>{resident.address}</dd>
              <dt>{t('detail.livesAlone')}</dt>
              <dd>{t(resident.livesAlone ? 'yes' : 'no')}</dd>
              <dt>{t('detail.capability')}</dt>
              <dd>{term(s.lang, 'capability', resident.capabilityLevel)}</dd>
              {resident.notes && (
                <>
                  <dt>{t('detail.notes')}</dt>
                  <dd>{resident.notes}</dd>
                </>
              )}
            </dl>
            <h4>{t('detail.contacts')}</h4>
            <ol class="contacts">
              {resident.contacts.map((c) => (
                <li>
                  <span class="muted">{term(s.lang, 'relation', c.relation)}</span> {c.name}{' '}
                  {staff && alarm.state !== 'resolved' ? (
                    <button class="link" onClick={() => setDialog({ kind: 'call', alarmId: alarm.id, contact: c })} data-action="call" title={t('call.log')}>
                      {c.phone}
                    </button>
                  ) : (
                    <a href={`tel:${c.phone.replace(/[\s-]/g, '')}`}>{c.phone}</a>
                  )}
                </li>
              ))}
            </ol>
            <h4>{t('detail.devices')}</h4>
            <DeviceList devices={devices} compact />
          </div>
        )}
      </div>
      {resident && (
        <div class="card">
          <h2>{t('detail.vitals')}</h2>
          {vitals === null ? (
            <p class="muted">…</p>
          ) : vitals.length === 0 ? (
            <p class="muted" data-testid="vitals-empty">
              {t('detail.noVitals')}
            </p>
          ) : (
            <div class="charts">
              {VITALS.map((v) => (
                <VitalChart title={t(v.title)} unit={v.unit} series={vitals.filter((x) => v.kinds.includes(x.kind))} markAt={Date.parse(alarm.raisedAt)} from={vitalsWindow.from} to={vitalsWindow.to} lang={s.lang} />
              ))}
            </div>
          )}
        </div>
      )}
      <Dialog dialog={dialog} close={() => (setDialog(null), void load())} />
    </section>
  );
}
