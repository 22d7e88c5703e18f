import { describeError } from '../errors.ts';
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { store, t, useConsole } from '../state.ts';
import { ErrorLine } from './error-line.tsx';

/** The user's own account: who they are, and a new password (every login then ends, this one too). */
export function Account({ onPasswordChanged }: { onPasswordChanged: () => void }) {
  const s = useConsole();
  const user = s.session!.user;
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (password.length < 10) return setError(t('account.password.short'));
    if (password !== repeat) return setError(t('account.password.mismatch'));
    setBusy(true);
    setError(null);
    try {
      await api('PUT', '/auth/password', { password });
      store.set({ notice: 'login.passwordChanged' });
      onPasswordChanged();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="account card" data-testid="account">
      <h2>{t('account.title')}</h2>
      <dl class="facts">
        <dt>{t('account.username')}</dt>
        <dd data-testid="account-username">{user.username}</dd>
        <dt>{t('account.role')}</dt>
        <dd>{t(`role.${user.role}` as Parameters<typeof t>[0])}</dd>
      </dl>
      <form onSubmit={submit} data-testid="password-form">
        <h3>{t('account.password')}</h3>
        <p class="muted">{t('account.password.hint')}</p>
        <label>
          {t('account.password.new')}
          <input name="password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required />
        </label>
        <label>
          {t('account.password.repeat')}
          <input name="repeat" type="password" autocomplete="new-password" value={repeat} onInput={(e) => setRepeat((e.target as HTMLInputElement).value)} required />
        </label>
        <ErrorLine error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {t('account.password.submit')}
        </button>
      </form>
    </section>
  );
}
