import { useState } from 'preact/hooks';
import { ApiError, login } from '../api.ts';
import { unlockAudio } from '../alert.ts';
import { store, useConsole } from '../state.ts';
import { translate } from '../i18n.ts';
import { Bell } from './icon.tsx';
import { ErrorLine } from './error-line.tsx';

export function Login() {
  const s = useConsole();
  const tr = (k: Parameters<typeof translate>[1]) => translate(s.lang, k);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    unlockAudio(); // the click that logs in is the gesture that allows the alarm sound
    setBusy(true);
    setError(null);
    try {
      const res = await login(username.trim(), password);
      store.set({ session: { token: res.token, user: res.user }, error: null, notice: null });
      location.hash = '#/';
    } catch (err) {
      setError(err instanceof ApiError && err.status === 429 ? tr('login.throttled') : err instanceof ApiError && err.status === 401 ? tr('login.failed') : String((err as Error).message));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login-page">
      <form class="login card" onSubmit={submit}>
        <h1>
          <Bell size={26} /> carebell
        </h1>
        <p class="muted">{tr('brand')}</p>
        {s.notice && (
          <p class="notice" role="status" data-testid="login-notice">
            {tr(s.notice)}
          </p>
        )}
        <label>
          {tr('login.username')}
          <input name="username" autocomplete="username" value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} required autofocus />
        </label>
        <label>
          {tr('login.password')}
          <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required />
        </label>
        <ErrorLine error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {tr('login.submit')}
        </button>
        <button type="button" class="ghost" onClick={() => store.set({ lang: s.lang === 'zh' ? 'en' : 'zh' })} data-testid="lang">
          {tr('lang.switch')}
        </button>
      </form>
    </div>
  );
}
