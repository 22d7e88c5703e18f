import { useState } from 'preact/hooks';
import { respond } from '../actions.ts';
import type { Alarm } from '../api.ts';
import { t, useConsole } from '../state.ts';
import { responseText } from './queue.tsx';

/**
 * "I am going" (and about when) or "I cannot go": the station sees the answer
 * on the alarm; it is not an acknowledgement, so the station keeps working it.
 */
export function Answer({ alarm }: { alarm: Alarm }) {
  const s = useConsole();
  const me = s.session?.user;
  const mine = alarm.responses.find((r) => r.recordedBy === `family:${me?.username}`);
  const [choosing, setChoosing] = useState(false);
  const [changing, setChanging] = useState(false);
  if (mine && !changing) {
    return (
      <p class={`answered ${mine.going ? 'going' : 'cannot'}`} data-testid="family-answered">
        {t('family.answered', { text: responseText(mine, s.lang) })}{' '}
        <button class="link" onClick={() => setChanging(true)}>
          {t('family.change')}
        </button>
      </p>
    );
  }
  const answer = (going: boolean, eta?: number) =>
    void respond(alarm.id, going, eta)
      .then(() => (setChoosing(false), setChanging(false)))
      .catch(() => {});
  return choosing ? (
    <div class="answer" data-testid="family-eta">
      <p>{t('family.eta')}</p>
      <div class="eta-choices">
        {[10, 20, 30, 60].map((n) => (
          <button class="primary" onClick={() => answer(true, n)} data-eta={n}>
            {t('family.etaMinutes', { n })}
          </button>
        ))}
      </div>
    </div>
  ) : (
    <div class="answer">
      <button class="primary big" onClick={() => setChoosing(true)} data-action="going">
        {t('action.going')}
      </button>
      <button class="big" onClick={() => answer(false)} data-action="cannot">
        {t('action.cannot')}
      </button>
    </div>
  );
}
