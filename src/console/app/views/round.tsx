import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import { describeError } from '../errors.ts';
import { term } from '../i18n.ts';
import { t, useConsole, when } from '../state.ts';
import { ErrorLine } from './error-line.tsx';

interface Due {
  residentId: string;
  name: string;
  address: string;
  phone: string | null;
  categories: string[];
  kind: 'phone' | 'home';
  task?: { id: string; reason: string };
  dueAt: string;
  overdue: boolean;
  lastVisitAt: string | null;
}

interface Made {
  id: string;
  residentName: string | null;
  kind: 'phone' | 'home';
  outcome: string;
  at: string;
}

type Outcome = 'well' | 'needs_follow_up' | 'not_reached';

/** A visit recorded while offline: kept on the phone and sent when the network is back. */
interface Pending {
  residentId: string;
  name: string;
  body: { kind: 'phone' | 'home'; outcome: Outcome; at: string; note?: string };
}

const QUEUE = 'carebell.pendingVisits';
const readQueue = (): Pending[] => {
  try {
    return JSON.parse(localStorage.getItem(QUEUE) ?? '[]') as Pending[];
  } catch {
    return [];
  }
};
const writeQueue = (q: Pending[]) => localStorage.setItem(QUEUE, JSON.stringify(q));

/** The network failed (not the server saying no): worth keeping and sending again. */
const offline = (err: unknown) => !(err instanceof ApiError) || err.status >= 500;

/**
 * Sends the visits kept on the phone, oldest first. A visit the server
 * refuses (the resident left, out of scope) is dropped and said; one the
 * network could not carry stays for the next try.
 */
async function flush(onRefused: (p: Pending, err: unknown) => void): Promise<number> {
  let sent = 0;
  for (const p of readQueue()) {
    try {
      await api('POST', `/residents/${p.residentId}/visits`, p.body);
      sent++;
    } catch (err) {
      if (offline(err)) break;
      onRefused(p, err);
    }
    writeQueue(readQueue().filter((q) => q.body.at !== p.body.at || q.residentId !== p.residentId));
  }
  return sent;
}

/**
 * A visitor's page, made for a phone (community worker or volunteer): today's
 * phone greetings and home visits with the number to call, and a visit
 * recorded in a few taps. Without a network the visit is kept on the phone
 * and sent when it is back.
 */
export function Round() {
  const s = useConsole();
  const [due, setDue] = useState<Due[] | null>(null);
  const [made, setMade] = useState<Made[]>([]);
  const [open, setOpen] = useState<Due | null>(null);
  const [pending, setPending] = useState(readQueue().length);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const load = () => {
    void api<Due[]>('GET', '/visits/due?withinDays=1')
      .then((d) => (setDue(d), setError(null)))
      .catch((err: unknown) => setError(describeError(err)));
    const today = new Date();
    today.setHours(0, 0, 0, 0);
    void api<Made[]>('GET', `/visits?from=${today.toISOString()}`)
      .then((m) => setMade(m.reverse()))
      .catch(() => {});
  };
  const retry = () =>
    void flush((p, err) => setError(`${p.name}: ${describeError(err)}`)).then((sent) => {
      setPending(readQueue().length);
      if (sent > 0) load();
    });
  useEffect(() => {
    load();
    retry();
    addEventListener('online', retry);
    const every = setInterval(retry, 30_000);
    return () => {
      removeEventListener('online', retry);
      clearInterval(every);
    };
  }, []);

  const record = async (d: Due, kind: 'phone' | 'home', outcome: Outcome, note: string) => {
    const body = { kind, outcome, at: new Date().toISOString(), ...(note.trim() ? { note: note.trim() } : {}) };
    try {
      await api('POST', `/residents/${d.residentId}/visits`, body);
      setSaved(t('round.saved', { name: d.name }));
      load();
    } catch (err) {
      if (!offline(err)) throw err;
      writeQueue([...readQueue(), { residentId: d.residentId, name: d.name, body }]);
      setPending(readQueue().length);
      setSaved(t('round.kept', { name: d.name }));
      setDue((list) => list?.filter((x) => x !== d) ?? null);
    }
    setOpen(null);
  };

  return (
    <section class="round" data-testid="round">
      <h1>{t('round.title')}</h1>
      {pending > 0 && (
        <p class="banner notice" role="status" data-testid="round-pending">
          {t('round.pending', { n: pending })}
        </p>
      )}
      {saved && (
        <p class="notice" role="status" data-testid="round-saved">
          {saved}
        </p>
      )}
      <ErrorLine error={error} />
      {due && due.length === 0 && <p class="muted card">{t('round.none')}</p>}
      {due?.map((d) =>
        open === d ? (
          <RecordCard due={d} onSave={record} onCancel={() => setOpen(null)} />
        ) : (
          <article class={`card round-item ${d.overdue ? 'overdue' : ''}`} data-resident={d.residentId} data-kind={d.kind}>
            <header>
              <strong>{d.name}</strong> <span class="badge kind">{t(d.kind === 'phone' ? 'visits.phone' : 'visits.home')}</span>
              {d.task && <span class="badge task">{term(s.lang, 'task', d.task.reason)}</span>}
            </header>
            <div class="muted">{d.address}</div>
            <div class="small">
              {d.overdue ? `${t('visits.overdue')} · ` : ''}
              {t('visits.dueAt')} {when(d.dueAt, s.lang)} · {t('visits.last')} {d.lastVisitAt ? when(d.lastVisitAt, s.lang) : t('visits.never')}
            </div>
            <div class="round-actions">
              {d.phone && (
                <a class="button ghost" href={`tel:${d.phone.replace(/[^\d+]/g, '')}`} data-action="call">
                  {t('round.call', { phone: d.phone })}
                </a>
              )}
              <button onClick={() => (setSaved(null), setOpen(d))} data-action="record">
                {t('visits.record')}
              </button>
            </div>
          </article>
        ),
      )}
      {made.length > 0 && (
        <div class="card">
          <h2>{t('round.today')}</h2>
          <ul class="history" data-testid="round-made">
            {made.map((m) => (
              <li>
                <time>{when(m.at, s.lang)}</time> {m.residentName} · {t(m.kind === 'phone' ? 'visits.phone' : 'visits.home')} · {t(`visits.outcome.${m.outcome}` as 'visits.outcome.well')}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

/** Record a visit in a few taps: how it was made, how it went (one tap saves), a note if any. */
function RecordCard({ due, onSave, onCancel }: { due: Due; onSave: (d: Due, kind: 'phone' | 'home', outcome: Outcome, note: string) => Promise<void>; onCancel: () => void }) {
  const [kind, setKind] = useState(due.kind);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const save = (outcome: Outcome) => {
    setBusy(true);
    onSave(due, kind, outcome, note)
      .catch((err: unknown) => setError(describeError(err)))
      .finally(() => setBusy(false));
  };
  return (
    <article class="card round-item recording" data-testid="round-record" data-resident={due.residentId}>
      <header>
        <strong>{due.name}</strong>
      </header>
      <div class="segmented" role="group">
        {(['phone', 'home'] as const).map((k) => (
          <button class={kind === k ? 'active' : 'ghost'} aria-pressed={kind === k} onClick={() => setKind(k)} data-kind={k}>
            {t(k === 'phone' ? 'visits.phone' : 'visits.home')}
          </button>
        ))}
      </div>
      <label>
        {t('visits.note')}
        <textarea name="note" rows={2} value={note} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
      </label>
      <div class="round-outcomes">
        {(['well', 'needs_follow_up', 'not_reached'] as const).map((o) => (
          <button class={`big outcome-${o}`} disabled={busy} onClick={() => save(o)} data-outcome={o}>
            {t(`visits.outcome.${o}`)}
          </button>
        ))}
      </div>
      <ErrorLine error={error} />
      <button class="ghost" onClick={onCancel}>
        {t('round.back')}
      </button>
    </article>
  );
}
