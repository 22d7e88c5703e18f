import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { describeError } from '../errors.ts';
import { term } from '../i18n.ts';
import { t, useConsole, when } from '../state.ts';
import { ErrorLine } from './error-line.tsx';
import { FormDialog } from './dialogs.tsx';

interface Due {
  residentId: string;
  name: string;
  address: string;
  stationId: string;
  categories: string[];
  kind: 'phone' | 'home';
  everyDays: number | null;
  /** A visit asked for beyond the plan (a wellbeing check, a follow-up). */
  task?: { id: string; reason: string };
  dueAt: string;
  overdue: boolean;
  lastVisitAt: string | null;
}

const outcomes = ['well', 'needs_follow_up', 'not_reached'] as const;

/**
 * The visit programme for the duty desk (探访关爱): who is overdue or due for a
 * phone greeting or a home visit, and recording one in a few clicks.
 */
export function Visits() {
  const s = useConsole();
  const [within, setWithin] = useState(1);
  const [list, setList] = useState<Due[] | null>(null);
  const [open, setOpen] = useState<Due | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const load = () => void api<Due[]>('GET', `/visits/due?withinDays=${within}`).then(setList).catch((err: unknown) => setError(describeError(err)));
  useEffect(load, [within]);

  return (
    <section class="visits" data-testid="visits">
      <div class="section-head">
        <h1>{t('visits.title')}</h1>
        <label>
          {t('visits.within')}{' '}
          <select value={String(within)} onChange={(e) => setWithin(Number((e.target as HTMLSelectElement).value))} data-testid="visits-within">
            <option value="0">{t('visits.overdueOnly')}</option>
            <option value="1">{t('visits.today')}</option>
            <option value="7">{t('visits.week')}</option>
            <option value="31">{t('visits.month')}</option>
          </select>
        </label>
      </div>
      {done && (
        <p class="notice" role="status" data-testid="visit-recorded">
          {done}
        </p>
      )}
      <ErrorLine error={error} />
      {list && list.length === 0 && <p class="muted card">{t('visits.none')}</p>}
      {list && list.length > 0 && (
        <table class="users-table" data-testid="visits-due">
          <thead>
            <tr>
              <th>{t('queue.resident')}</th>
              <th>{t('residents.address')}</th>
              <th>{t('visits.kind')}</th>
              <th>{t('visits.dueAt')}</th>
              <th>{t('visits.last')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <tr class={d.overdue ? 'overdue' : ''} data-resident={d.residentId} data-kind={d.kind} data-task={d.task?.reason}>
                <td>
                  {d.name} <span class="muted small">{d.categories.map((c) => term(s.lang, 'category', c)).join('、')}</span>
                </td>
                <td>{d.address}</td>
                <td>
                  {t(d.kind === 'phone' ? 'visits.phone' : 'visits.home')}
                  {d.task && <div class="small warn">{term(s.lang, 'task', d.task.reason)}</div>}
                </td>
                <td class={d.overdue ? 'warn' : ''}>
                  {d.overdue ? `${t('visits.overdue')} · ` : ''}
                  {when(d.dueAt, s.lang)}
                </td>
                <td>{d.lastVisitAt ? when(d.lastVisitAt, s.lang) : t('visits.never')}</td>
                <td>
                  <button class="ghost small" data-action="record-visit" onClick={() => (setDone(null), setOpen(d))}>
                    {t('visits.record')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && (
        <RecordVisit
          due={open}
          onClose={() => setOpen(null)}
          onDone={(message) => {
            setOpen(null);
            setDone(message);
            load();
          }}
        />
      )}
    </section>
  );
}

function RecordVisit({ due, onDone, onClose }: { due: Due; onDone: (message: string) => void; onClose: () => void }) {
  const [kind, setKind] = useState(due.kind);
  const [outcome, setOutcome] = useState<(typeof outcomes)[number]>('well');
  const [observations, setObservations] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <FormDialog
      label={`${t('visits.record')} · ${due.name}`}
      testid="record-visit"
      dirty={observations.trim() !== '' || note.trim() !== ''}
      busy={busy}
      error={error}
      submitLabel={t('visits.save')}
      onSubmit={() => {
        setBusy(true);
        return api('POST', `/residents/${due.residentId}/visits`, { kind, outcome, ...(observations.trim() ? { observations: observations.trim() } : {}), ...(note.trim() ? { note: note.trim() } : {}) })
          .then(() => onDone(t('visits.recorded', { name: due.name })))
          .catch((err: unknown) => setError(describeError(err)))
          .finally(() => setBusy(false));
      }}
      onCancel={onClose}
    >
      <fieldset class="choices">
        <legend>{t('visits.kind')}</legend>
        {(['phone', 'home'] as const).map((k) => (
          <label>
            <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} /> {t(k === 'phone' ? 'visits.phone' : 'visits.home')}
          </label>
        ))}
      </fieldset>
      <fieldset class="choices">
        <legend>{t('visits.outcome')}</legend>
        {outcomes.map((o) => (
          <label>
            <input type="radio" name="outcome" value={o} checked={outcome === o} onChange={() => setOutcome(o)} /> {t(`visits.outcome.${o}`)}
          </label>
        ))}
      </fieldset>
      <label>
        {t('visits.observations')}
        <input name="observations" value={observations} onInput={(e) => setObservations((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        {t('visits.note')}
        <input name="note" value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
      </label>
    </FormDialog>
  );
}
