import { useEffect, useState } from 'preact/hooks';
import { api, type Alarm, type AlarmDetail, type Device, type Resident, type ServiceRequest } from '../api.ts';
import { term } from '../i18n.ts';
import { Answer } from './answer.tsx';
import { elapsed, t, useConsole, when } from '../state.ts';
import { DeviceSummary, deviceOk } from './devices.tsx';
import { familyKinds } from './alarm-detail.tsx';
import { Timeline } from './timeline.tsx';
import { Cancel, NewRequest, serviceTimes } from './services.tsx';

/** A family member's page, made for a phone at 3 a.m.: is mum all right, and what is being done. */
export function Family() {
  const s = useConsole();
  const residentId = s.session?.user.residentId ?? '';
  const [resident, setResident] = useState<Resident | null>(null);
  const [devices, setDevices] = useState<Device[]>([]);
  const [details, setDetails] = useState<Map<string, AlarmDetail>>(new Map());
  const [history, setHistory] = useState<Alarm[]>([]);
  const open = [...s.alarms.values()].filter((a) => a.residentId === residentId).sort((a, b) => Date.parse(b.raisedAt) - Date.parse(a.raisedAt));
  const openKey = open.map((a) => `${a.id}:${a.updatedAt}`).join(',');

  useEffect(() => {
    void api<Resident>('GET', `/residents/${residentId}`).then(setResident).catch(() => {});
    void api<Device[]>('GET', `/devices?residentId=${residentId}`).then(setDevices).catch(() => {});
  }, [residentId]);
  useEffect(() => {
    void api<Alarm[]>('GET', '/alarms?state=resolved&limit=20').then(setHistory).catch(() => {});
    void Promise.all(open.map((a) => api<AlarmDetail>('GET', `/alarms/${a.id}`).catch(() => null))).then((list) =>
      setDetails(new Map(list.filter((d): d is AlarmDetail => d !== null).map((d) => [d.id, d]))),
    );
  }, [openKey]);

  const allOk = devices.length > 0 && devices.filter((d) => !d.decommissioned).every(deviceOk);

  const devicesCard = (
    <div class={`card status ${allOk ? 'ok' : 'problem'}`} data-testid="family-devices">
      <h2>{t(allOk ? 'family.devicesOk' : 'family.devicesProblem')}</h2>
      <DeviceSummary devices={devices} />
    </div>
  );
  // With an alarm open, it comes first (and the answer buttons with it); the devices wait below.
  return (
    <section class="family" data-testid="family">
      <h1>{t('family.title', { name: resident?.name ?? '…' })}</h1>
      {open.length === 0 && devicesCard}
      <div class="card">
        <h2>{t('family.open')}</h2>
        {open.length === 0 ? (
          <p class="muted" data-testid="family-none-open">
            {t('family.noneOpen')}
          </p>
        ) : (
          open.map((a) => (
            <article class={`family-alarm sev-${a.severity}`} data-alarm={a.id}>
              <header>
                <span class={`badge sev-${a.severity}`}>{term(s.lang, 'severity', a.severity)}</span> <strong>{term(s.lang, 'alarm', a.type)}</strong>
                <span class={`state state-${a.state}`}>{term(s.lang, 'state', a.state)}</span>
                <span class="elapsed">{elapsed(a.raisedAt, s.now)}</span>
              </header>
              {a.state !== 'resolved' && <Answer alarm={a} />}
              <h3>{t('family.whatIsDone')}</h3>
              <Timeline entries={(details.get(a.id)?.timeline ?? []).filter((e) => familyKinds.has(e.kind))} lang={s.lang} people={details.get(a.id)?.people} family testId="family-timeline" />
            </article>
          ))
        )}
      </div>
      {open.length > 0 && devicesCard}
      <FamilyServices residentId={residentId} />
      <div class="card">
        <h2>{t('family.history')}</h2>
        {history.length === 0 ? (
          <p class="muted">{t('family.noHistory')}</p>
        ) : (
          <ul class="history">
            {history.map((a) => (
              <li>
                <time>{when(a.raisedAt, s.lang)}</time> {term(s.lang, 'alarm', a.type)} · {a.outcome ? term(s.lang, 'outcome', a.outcome) : term(s.lang, 'state', a.state)}
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}

/** Services for mum: ask for one (meals, housekeeping, an errand …) and follow it, step by step, to done. */
function FamilyServices({ residentId }: { residentId: string }) {
  const s = useConsole();
  const [list, setList] = useState<ServiceRequest[]>([]);
  const [asking, setAsking] = useState(false);
  const [cancelling, setCancelling] = useState<ServiceRequest | null>(null);
  const load = () => void api<ServiceRequest[]>('GET', '/service-requests?limit=10').then(setList).catch(() => {});
  useEffect(() => {
    load();
    const onLive = (e: Event) => (e as CustomEvent<{ event: string }>).detail.event === 'service.request' && load();
    addEventListener('carebell:live', onLive);
    return () => removeEventListener('carebell:live', onLive);
  }, [residentId]);
  return (
    <div class="card" data-testid="family-services">
      <div class="section-head">
        <h2>{t('family.services')}</h2>
        <button onClick={() => setAsking(true)} data-action="ask-service">
          {t('family.askService')}
        </button>
      </div>
      {list.length === 0 ? (
        <p class="muted">{t('family.noServices')}</p>
      ) : (
        <ul class="history">
          {list.map((r) => (
            <li data-request={r.id} data-state={r.state}>
              <time>{when(r.created.at, s.lang)}</time> {term(s.lang, 'service', r.kind)} · <span class={`state state-${r.state}`}>{term(s.lang, 'serviceState', r.state)}</span>
              {r.worker && ` · ${r.worker}`}
              {(r.assigned || r.arrived || r.done) && <div class="muted small">{serviceTimes(r)}</div>}
              {(r.state === 'new' || r.state === 'assigned') && (
                <button class="ghost small" onClick={() => setCancelling(r)} data-action="cancel">
                  {t('services.cancel')}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {asking && <NewRequest residentId={residentId} onClose={() => setAsking(false)} onDone={() => (setAsking(false), load())} />}
      {cancelling && <Cancel request={cancelling} onClose={() => setCancelling(null)} onDone={() => (setCancelling(null), load())} />}
    </div>
  );
}
