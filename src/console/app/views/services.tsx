import { useEffect, useState } from 'preact/hooks';
import { api, type Provider, type ServiceRequest } from '../api.ts';
import { describeError } from '../errors.ts';
import { term } from '../i18n.ts';
import { t, useConsole, when } from '../state.ts';
import { ErrorLine } from './error-line.tsx';
import { FormDialog } from './dialogs.tsx';

export const serviceKinds = ['meals', 'housekeeping', 'home_nursing', 'repair', 'errand', 'other'] as const;
const filters = ['open', 'done', 'cancelled', 'all'] as const;
type Filter = (typeof filters)[number];

/** Minutes from the request to a step, for the times line: "派单 5 分 · 到达 30 分 · 完成 50 分". */
const minutesTo = (r: ServiceRequest, step: { at: string } | null): number | null => (step ? Math.round((Date.parse(step.at) - Date.parse(r.created.at)) / 60_000) : null);

export function serviceTimes(r: ServiceRequest): string {
  const parts = (
    [
      ['services.t.assigned', r.assigned],
      ['services.t.arrived', r.arrived],
      ['services.t.done', r.done],
    ] as const
  ).flatMap(([key, step]) => {
    const m = minutesTo(r, step);
    return m === null ? [] : [t(key, { m })];
  });
  return parts.join(' · ');
}

type Open = { kind: 'new' } | { kind: 'assign'; request: ServiceRequest } | { kind: 'cancel'; request: ServiceRequest } | null;

/**
 * Service requests (需求实时响应, 服务找人) for the duty desk and the providers:
 * new needs from the service button, the family page or a phone call; the
 * desk dispatches to a provider or a named worker; the provider's workers go,
 * arrive and finish; each step with its time. Updated live.
 */
export function Services() {
  const s = useConsole();
  const role = s.session?.user.role;
  const desk = role === 'admin' || role === 'operator';
  const [filter, setFilter] = useState<Filter>('open');
  const [list, setList] = useState<ServiceRequest[] | null>(null);
  const [providers, setProviders] = useState<Provider[]>([]);
  const [open, setOpen] = useState<Open>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    void api<ServiceRequest[]>('GET', `/service-requests${filter === 'all' ? '' : `?state=${filter}`}`)
      .then((l) => (setList(l), setError(null)))
      .catch((err: unknown) => setError(describeError(err)));
  useEffect(load, [filter]);
  useEffect(() => void api<Provider[]>('GET', '/providers').then(setProviders).catch(() => {}), []);
  useEffect(() => {
    const onLive = (e: Event) => (e as CustomEvent<{ event: string }>).detail.event === 'service.request' && load();
    addEventListener('carebell:live', onLive);
    return () => removeEventListener('carebell:live', onLive);
  }, [filter]);

  const step = (r: ServiceRequest, action: 'start' | 'arrive' | 'done') =>
    void api('POST', `/service-requests/${r.id}/${action}`)
      .then(load)
      .catch((err: unknown) => setError(describeError(err)));

  return (
    <section class="services" data-testid="services">
      <div class="section-head">
        <h1>{t('services.title')}</h1>
        <div class="filters" role="group">
          {filters.map((f) => (
            <button class={`ghost small ${filter === f ? 'active' : ''}`} aria-pressed={filter === f} onClick={() => setFilter(f)} data-filter={f}>
              {t(`services.filter.${f}`)}
            </button>
          ))}
        </div>
        {desk && (
          <button onClick={() => setOpen({ kind: 'new' })} data-action="new-service">
            {t('services.new')}
          </button>
        )}
      </div>
      <ErrorLine error={error} />
      {list && list.length === 0 && <p class="muted card">{t('services.none')}</p>}
      {list && list.length > 0 && (
        <table class="users-table" data-testid="service-list">
          <thead>
            <tr>
              <th>{t('services.asked')}</th>
              <th>{t('queue.resident')}</th>
              <th>{t('services.kind')}</th>
              <th>{t('services.state')}</th>
              <th>{t('services.who')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((r) => (
              <tr data-request={r.id} data-state={r.state} class={r.state === 'new' ? 'overdue' : ''}>
                <td>
                  {when(r.created.at, s.lang)}
                  <div class="muted small">{t(`services.source.${r.source}`, { n: r.presses })}</div>
                </td>
                <td>{r.residentName ?? r.residentId}</td>
                <td>
                  {term(s.lang, 'service', r.kind)}
                  {r.note && <div class="muted small">{r.note}</div>}
                </td>
                <td>
                  <span class={`state state-${r.state}`}>{term(s.lang, 'serviceState', r.state)}</span>
                  <div class="muted small" data-testid="service-times">
                    {r.cancelled ? t('services.cancelledWhy', { reason: r.cancelled.reason ?? '' }) : serviceTimes(r)}
                  </div>
                </td>
                <td>
                  {r.providerName ?? ''}
                  {r.worker && <div class="small">{r.worker}</div>}
                </td>
                <td class="actions">
                  {(r.state === 'new' || r.state === 'assigned') && (desk || role === 'provider') && (
                    <button class="ghost small" data-action="assign" onClick={() => setOpen({ kind: 'assign', request: r })}>
                      {t(r.state === 'new' ? 'services.assign' : 'services.reassign')}
                    </button>
                  )}
                  {r.state === 'assigned' && (
                    <button class="ghost small" data-action="start" onClick={() => step(r, 'start')}>
                      {t('services.start')}
                    </button>
                  )}
                  {(r.state === 'assigned' || r.state === 'on_the_way') && (
                    <button class="ghost small" data-action="arrive" onClick={() => step(r, 'arrive')}>
                      {t('services.arrive')}
                    </button>
                  )}
                  {r.state === 'on_site' && (
                    <button class="small" data-action="done" onClick={() => step(r, 'done')}>
                      {t('services.done')}
                    </button>
                  )}
                  {desk && r.state !== 'done' && r.state !== 'cancelled' && (
                    <button class="ghost small" data-action="cancel" onClick={() => setOpen({ kind: 'cancel', request: r })}>
                      {t('services.cancel')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open?.kind === 'new' && <NewRequest onClose={() => setOpen(null)} onDone={() => (setOpen(null), setFilter('open'), load())} />}
      {open?.kind === 'assign' && <Assign request={open.request} providers={providers} onClose={() => setOpen(null)} onDone={() => (setOpen(null), load())} />}
      {open?.kind === 'cancel' && <Cancel request={open.request} onClose={() => setOpen(null)} onDone={() => (setOpen(null), load())} />}
    </section>
  );
}

/** Staff taking a call, or the family: a new request for a resident. */
export function NewRequest({ residentId, onDone, onClose }: { residentId?: string; onDone: () => void; onClose: () => void }) {
  const s = useConsole();
  const residents = [...s.residents.values()].filter((r) => r.active !== false).sort((a, b) => a.name.localeCompare(b.name, 'zh-CN'));
  const [resident, setResident] = useState(residentId ?? '');
  const [kind, setKind] = useState<(typeof serviceKinds)[number]>('meals');
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <FormDialog
      label={t('services.new')}
      testid="new-service"
      dirty={note.trim() !== ''}
      busy={busy}
      error={error}
      submitLabel={t('services.send')}
      onSubmit={() => {
        setBusy(true);
        return api('POST', '/service-requests', { ...(residentId ? {} : { residentId: resident }), kind, ...(note.trim() ? { note: note.trim() } : {}) })
          .then(onDone)
          .catch((err: unknown) => setError(describeError(err)))
          .finally(() => setBusy(false));
      }}
      onCancel={onClose}
    >
      {!residentId && (
        <label>
          {t('queue.resident')}
          <select name="resident" value={resident} onChange={(e) => setResident((e.target as HTMLSelectElement).value)} required>
            <option value="">—</option>
            {residents.map((r) => (
              <option value={r.id}>
                {r.name} · {r.address}
              </option>
            ))}
          </select>
        </label>
      )}
      <fieldset class="choices">
        <legend>{t('services.kind')}</legend>
        {serviceKinds.map((k) => (
          <label>
            <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} /> {term(s.lang, 'service', k)}
          </label>
        ))}
      </fieldset>
      <label>
        {t('services.note')}
        <input name="note" value={note} placeholder={t('services.notePlaceholder')} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
      </label>
    </FormDialog>
  );
}

function Assign({ request, providers, onDone, onClose }: { request: ServiceRequest; providers: Provider[]; onDone: () => void; onClose: () => void }) {
  const s = useConsole();
  const provider = s.session?.user.role === 'provider';
  const [providerId, setProviderId] = useState(request.providerId ?? (provider ? (s.session?.user.providerId ?? '') : ''));
  const [worker, setWorker] = useState(request.worker ?? '');
  const [kind, setKind] = useState(request.kind);
  const [note, setNote] = useState(request.note ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <FormDialog
      label={`${t('services.assign')} · ${request.residentName ?? ''}`}
      testid="assign-service"
      dirty={worker !== (request.worker ?? '')}
      busy={busy}
      error={error}
      submitLabel={t('services.assignSend')}
      onSubmit={() => {
        setBusy(true);
        const body = {
          ...(!provider && providerId ? { providerId } : {}),
          ...(worker.trim() ? { worker: worker.trim() } : {}),
          ...(!provider && kind !== request.kind ? { kind } : {}),
          ...(!provider && note.trim() && note.trim() !== request.note ? { note: note.trim() } : {}),
        };
        return api('POST', `/service-requests/${request.id}/assign`, body)
          .then(onDone)
          .catch((err: unknown) => setError(describeError(err)))
          .finally(() => setBusy(false));
      }}
      onCancel={onClose}
    >
      {!provider && (
        <>
          <label>
            {t('services.kind')}
            <select name="kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as ServiceRequest['kind'])}>
              {serviceKinds.map((k) => (
                <option value={k}>{term(s.lang, 'service', k)}</option>
              ))}
            </select>
          </label>
          <label>
            {t('services.provider')}
            <select name="provider" value={providerId} onChange={(e) => setProviderId((e.target as HTMLSelectElement).value)}>
              <option value="">—</option>
              {providers.map((p) => (
                <option value={p.id}>{p.name}</option>
              ))}
            </select>
          </label>
          <label>
            {t('services.note')}
            <input name="note" value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
          </label>
        </>
      )}
      <label>
        {t('services.worker')}
        <input name="worker" value={worker} placeholder={t('services.workerPlaceholder')} onInput={(e) => setWorker((e.target as HTMLInputElement).value)} />
      </label>
    </FormDialog>
  );
}

export function Cancel({ request, onDone, onClose }: { request: ServiceRequest; onDone: () => void; onClose: () => void }) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <FormDialog
      label={`${t('services.cancel')} · ${request.residentName ?? ''}`}
      testid="cancel-service"
      dirty={reason.trim() !== ''}
      busy={busy}
      error={error}
      submitLabel={t('services.cancelSend')}
      onSubmit={() => {
        setBusy(true);
        return api('POST', `/service-requests/${request.id}/cancel`, { reason: reason.trim() })
          .then(onDone)
          .catch((err: unknown) => setError(describeError(err)))
          .finally(() => setBusy(false));
      }}
      onCancel={onClose}
    >
      <label>
        {t('services.reason')}
        <input name="reason" value={reason} required onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      </label>
    </FormDialog>
  );
}
