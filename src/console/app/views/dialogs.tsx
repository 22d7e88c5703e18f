import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { addNote, handOver, logCall, onSite, outcomes, recordResponse, resolve } from '../actions.ts';
import { api, type Contact } from '../api.ts';
import { term } from '../i18n.ts';
import { store, t } from '../state.ts';
import { ErrorLine } from './error-line.tsx';

export type DialogKind =
  | { kind: 'resolve' | 'note' | 'onsite' | 'handover'; alarmId: string; contacts?: Contact[] }
  | { kind: 'call'; alarmId: string; contact: Contact }
  | null;

const callOutcomes = ['reached', 'no_answer', 'busy', 'wrong_number'] as const;

/**
 * The dialogs of an alarm: resolve (with an outcome), note, a phone call to a
 * contact (its outcome, and their answer when reached), a responder on site.
 * Safe to use at 3 a.m.: Enter does the primary action, Escape cancels, and
 * nothing typed is thrown away without asking; the primary button comes first
 * in the tab order.
 */
export function Dialog({ dialog, close }: { dialog: DialogKind; close: () => void }) {
  const [outcome, setOutcome] = useState<string>('visited');
  const [call, setCall] = useState<(typeof callOutcomes)[number]>('reached');
  const [answer, setAnswer] = useState<'none' | 'going' | 'cannot'>('none');
  const [eta, setEta] = useState('20');
  const [text, setText] = useState('');
  const [handlers, setHandlers] = useState<Array<{ username: string; displayName: string | null }>>([]);
  const [to, setTo] = useState('');
  const first = useRef<HTMLSelectElement & HTMLTextAreaElement & HTMLInputElement>(null);
  // A new dialog starts blank before it can be seen or used: reset after the paint instead, a choice made
  // the moment the dialog appeared (a quick operator, a slow machine) would be put back to the default.
  useLayoutEffect(() => {
    setText('');
    setOutcome('visited');
    setCall('reached');
    setAnswer('none');
    setTo('');
    first.current?.focus();
    if (dialog?.kind === 'handover') {
      const me = store.state.session?.user.username;
      void api<Array<{ username: string; displayName: string | null }>>('GET', `/alarms/${dialog.alarmId}/handlers`)
        .then((list) => {
          const others = list.filter((u) => u.username !== me);
          setHandlers(others);
          setTo(others[0]?.username ?? '');
        })
        .catch(() => {});
    }
  }, [dialog?.alarmId, dialog?.kind]);
  if (!dialog) return null;
  const lang = store.state.lang;
  const titles = { resolve: 'resolve.title', note: 'note.title', call: 'call.title', onsite: 'onsite.title', handover: 'handover.title' } as const;

  const submit = async () => {
    try {
      if (dialog.kind === 'resolve') await resolve(dialog.alarmId, outcome, text.trim() || undefined);
      else if (dialog.kind === 'note') {
        if (!text.trim()) return first.current?.focus();
        await addNote(dialog.alarmId, text.trim());
      } else if (dialog.kind === 'call') {
        await logCall(dialog.alarmId, dialog.contact.name, call, text.trim() || undefined);
        if (call === 'reached' && answer !== 'none') await recordResponse(dialog.alarmId, dialog.contact.name, answer === 'going', answer === 'going' && eta ? Number(eta) : undefined);
      } else if (dialog.kind === 'onsite') {
        if (!text.trim()) return first.current?.focus();
        await onSite(dialog.alarmId, text.trim());
      } else if (dialog.kind === 'handover') {
        if (!to) return first.current?.focus();
        await handOver(dialog.alarmId, to);
        if (text.trim()) await addNote(dialog.alarmId, text.trim());
      }
      close();
    } catch {
      /* shown in the error banner */
    }
  };
  const contact = dialog.kind === 'call' && (
    <>
      {' '}
      {term(lang, 'relation', dialog.contact.relation)} {dialog.contact.name} · <a href={`tel:${dialog.contact.phone.replace(/[\s-]/g, '')}`}>{dialog.contact.phone}</a>
    </>
  );

  return (
    <FormDialog
      label={t(titles[dialog.kind])}
      title={
        <>
          {t(titles[dialog.kind])}
          {contact}
        </>
      }
      testid={`${dialog.kind}-dialog`}
      dirty={text.trim() !== ''}
      submitLabel={t(dialog.kind === 'resolve' ? 'action.resolve' : dialog.kind === 'handover' ? 'action.handOver' : 'action.save')}
      onSubmit={submit}
      onCancel={close}
    >
        {dialog.kind === 'resolve' && (
          <label>
            {t('resolve.outcome')}
            <select name="outcome" ref={first} value={outcome} onChange={(e) => setOutcome((e.target as HTMLSelectElement).value)}>
              {outcomes.map((o) => (
                <option value={o}>{term(lang, 'outcome', o)}</option>
              ))}
            </select>
          </label>
        )}
        {dialog.kind === 'call' && (
          <>
            <fieldset class="choices" data-testid="call-outcome">
              {callOutcomes.map((o, i) => (
                <label>
                  <input type="radio" name="call" value={o} checked={call === o} ref={i === 0 ? first : undefined} onChange={() => setCall(o)} /> {t(`call.${o}`)}
                </label>
              ))}
            </fieldset>
            {call === 'reached' && (
              <fieldset class="choices" data-testid="call-answer">
                <legend>{t('call.answer')}</legend>
                {(['none', 'going', 'cannot'] as const).map((a) => (
                  <label>
                    <input type="radio" name="answer" value={a} checked={answer === a} onChange={() => setAnswer(a)} /> {t(`call.answer.${a}`)}
                  </label>
                ))}
                {answer === 'going' && (
                  <label>
                    {t('call.eta')} <input name="eta" type="number" min="0" max="600" value={eta} onInput={(e) => setEta((e.target as HTMLInputElement).value)} />
                  </label>
                )}
              </fieldset>
            )}
          </>
        )}
        {dialog.kind === 'handover' && (
          <label>
            {t('handover.to')}
            <select name="to" ref={first} value={to} onChange={(e) => setTo((e.target as HTMLSelectElement).value)}>
              {handlers.map((u) => (
                <option value={u.username}>{u.displayName ? `${u.displayName} (${u.username})` : u.username}</option>
              ))}
            </select>
          </label>
        )}
        {dialog.kind === 'onsite' ? (
          <label>
            {t('onsite.who')}
            <input name="who" ref={first} list="onsite-who" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
            <datalist id="onsite-who">
              {(dialog.contacts ?? []).map((c) => (
                <option value={`${term(lang, 'relation', c.relation)} ${c.name}`} />
              ))}
              <option value={t('onsite.doctor')} />
              <option value={t('onsite.staff')} />
            </datalist>
          </label>
        ) : (
          <label>
            {t(dialog.kind === 'resolve' ? 'resolve.note' : dialog.kind === 'call' ? 'call.note' : dialog.kind === 'handover' ? 'handover.note' : 'note.title')}
            <textarea
              name="note"
              rows={3}
              ref={dialog.kind === 'note' ? first : undefined}
              placeholder={t('note.placeholder')}
              value={text}
              onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
            />
          </label>
        )}
    </FormDialog>
  );
}

/**
 * The frame of a dialog holding a form, the same for every one: the backdrop,
 * Escape to cancel (asking before dropping what was typed), Enter to submit
 * from a field (a textarea needs Ctrl+Enter), the primary button first in the
 * tab order and shown on the right, an error line under the fields.
 */
export function FormDialog({
  label,
  title,
  testid,
  dirty,
  busy = false,
  error = null,
  submitLabel,
  onSubmit,
  onCancel,
  children,
}: {
  label: string;
  title?: ComponentChildren;
  testid: string;
  dirty: boolean;
  busy?: boolean;
  error?: string | null;
  submitLabel: string;
  onSubmit: () => void | Promise<void>;
  onCancel: () => void;
  children: ComponentChildren;
}) {
  const cancel = () => {
    if (dirty && !window.confirm(t('dialog.discard'))) return;
    onCancel();
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      cancel();
    } else if (e.key === 'Enter' && !(e.target instanceof HTMLTextAreaElement && !(e.ctrlKey || e.metaKey)) && !(e.target instanceof HTMLButtonElement && e.target.type === 'button')) {
      e.preventDefault();
      void onSubmit();
    }
  };
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && cancel()} onKeyDown={onKey}>
      <form
        class="dialog card"
        aria-modal="true"
        aria-label={label}
        data-testid={testid}
        onSubmit={(e) => {
          e.preventDefault();
          void onSubmit();
        }}
      >
        <h2>{title ?? label}</h2>
        {children}
        <ErrorLine error={error} />
        {/* The primary action first in the tab order, shown on the right. */}
        <div class="row end dialog-buttons">
          <button type="submit" class="primary" data-action="confirm" disabled={busy}>
            {submitLabel}
          </button>
          <button type="button" class="ghost" onClick={cancel} data-action="cancel">
            {t('action.cancel')}
          </button>
        </div>
      </form>
    </div>
  );
}
