import { useEffect, useState } from 'preact/hooks';
import { acknowledge } from '../actions.ts';
import { api, type Alarm, type AlarmDetail, type Device, type Resident } from '../api.ts';
import { term } from '../i18n.ts';
import { elapsed, t, useConsole, when } from '../state.ts';
import { DeviceList, deviceOk } from './devices.tsx';
import { detailText } from './alarm-detail.tsx';

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

  return (
    <section class="family" data-testid="family">
      <h1>{t('family.title', { name: resident?.name ?? '…' })}</h1>
      <div class={`card status ${allOk ? 'ok' : 'problem'}`} data-testid="family-devices">
        <h2>{t(allOk ? 'family.devicesOk' : 'family.devicesProblem')}</h2>
        <DeviceList devices={devices} compact />
      </div>
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
              <h3>{t('family.whatIsDone')}</h3>
              <ol class="timeline">
                {(details.get(a.id)?.timeline ?? []).map((e) => (
                  <li data-kind={e.kind}>
                    <time>{when(e.at, s.lang)}</time> <strong>{term(s.lang, 'timeline', e.kind)}</strong>{' '}
                    <span class="actor">{[/^(system|rule:)/.test(e.actor) ? '' : e.actor, detailText(e.detail, s.lang)].filter(Boolean).join(' · ')}</span>
                  </li>
                ))}
              </ol>
              {a.state === 'open' && (
                <button class="primary big" onClick={() => void acknowledge(a.id).catch(() => {})} data-action="ack">
                  {t('action.going')}
                </button>
              )}
            </article>
          ))
        )}
      </div>
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
