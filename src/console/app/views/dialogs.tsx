import { useEffect, useRef, useState } from 'preact/hooks';
import { addNote, outcomes, resolve } from '../actions.ts';
import { term } from '../i18n.ts';
import { store, t } from '../state.ts';

export type DialogKind = { kind: 'resolve' | 'note'; alarmId: string } | null;

/** The resolve (with outcome) and note dialogs, shared by the queue and the detail view. */
export function Dialog({ dialog, close }: { dialog: DialogKind; close: () => void }) {
  const [outcome, setOutcome] = useState<string>('visited');
  const [text, setText] = useState('');
  const first = useRef<HTMLSelectElement & HTMLTextAreaElement>(null);
  useEffect(() => {
    setText('');
    setOutcome('visited');
    first.current?.focus();
  }, [dialog?.alarmId, dialog?.kind]);
  if (!dialog) return null;
  const lang = store.state.lang;

  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      if (dialog.kind === 'resolve') await resolve(dialog.alarmId, outcome, text.trim() || undefined);
      else if (text.trim()) await addNote(dialog.alarmId, text.trim());
      close();
    } catch {
      /* shown in the error banner */
    }
  };

  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && close()} onKeyDown={(e) => e.key === 'Escape' && close()}>
      <form class="dialog card" aria-modal="true" aria-label={t(dialog.kind === 'resolve' ? 'resolve.title' : 'note.title')} onSubmit={submit} data-testid={`${dialog.kind}-dialog`}>
        <h2>{t(dialog.kind === 'resolve' ? 'resolve.title' : 'note.title')}</h2>
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
        <label>
          {t(dialog.kind === 'resolve' ? 'resolve.note' : 'note.title')}
          <textarea
            name="note"
            rows={3}
            ref={dialog.kind === 'note' ? first : undefined}
            placeholder={t('note.placeholder')}
            value={text}
            onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
            onKeyDown={(e) => e.key === 'Enter' && (e.ctrlKey || e.metaKey) && void submit(e)}
          />
        </label>
        <div class="row end">
          <button type="button" class="ghost" onClick={close}>
            {t('action.cancel')}
          </button>
          <button type="submit" class="primary">
            {t(dialog.kind === 'resolve' ? 'action.resolve' : 'action.save')}
          </button>
        </div>
      </form>
    </div>
  );
}
