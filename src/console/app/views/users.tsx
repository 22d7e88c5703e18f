import { describeError } from '../errors.ts';
import { useEffect, useState } from 'preact/hooks';
import { api, type Provider, type Station, type User } from '../api.ts';
import { store, t, useConsole } from '../state.ts';
import { ErrorLine } from './error-line.tsx';

type Account = User & { id: string; disabled: boolean; relation: string | null };
type Role = User['role'];

/** A password to hand over once: 16 letters and digits from the browser's random source. */
function randomPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Accounts (administrators): who they are, whom they serve, disabled or not; create, disable, enable, a new password. */
export function Users() {
  const s = useConsole();
  const [users, setUsers] = useState<Account[]>([]);
  const [stations, setStations] = useState<Station[]>([]);
  const [providers, setProviders] = useState<Provider[]>([]);
  const [search, setSearch] = useState('');
  const [given, setGiven] = useState<{ username: string; password: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [form, setForm] = useState<{ username: string; displayName: string; role: Role; scope: string; relation: string }>({ username: '', displayName: '', role: 'operator', scope: '', relation: '' });

  const load = () => void api<Account[]>('GET', '/users').then(setUsers).catch(() => {});
  useEffect(() => {
    load();
    void store.loadResidents().catch(() => {});
    void api<Station[]>('GET', '/stations').then(setStations).catch(() => {});
    void api<Provider[]>('GET', '/providers').then(setProviders).catch(() => {});
  }, []);

  const scopeName = (u: Account): string =>
    u.stationId ? (stations.find((x) => x.id === u.stationId)?.name ?? u.stationId) : u.providerId ? (providers.find((p) => p.id === u.providerId)?.name ?? u.providerId) : u.residentId ? (s.residents.get(u.residentId)?.name ?? u.residentId) : '';
  const needle = search.trim().toLowerCase();
  const shown = users.filter((u) => !needle || [u.username, u.displayName ?? '', scopeName(u)].some((x) => x.toLowerCase().includes(needle)));

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      load();
    } catch (err) {
      setError(describeError(err));
    }
  };
  const create = (e: Event) => {
    e.preventDefault();
    const password = randomPassword();
    const scope = form.role === 'operator' || form.role === 'visitor' ? { stationId: form.scope } : form.role === 'provider' ? { providerId: form.scope } : form.role === 'family' ? { residentId: form.scope, ...(form.relation ? { relation: form.relation } : {}) } : {};
    void act(async () => {
      await api('POST', '/users', { username: form.username.trim(), password, role: form.role, ...(form.displayName.trim() ? { displayName: form.displayName.trim() } : {}), ...scope });
      setGiven({ username: form.username.trim(), password });
      setForm({ ...form, username: '', displayName: '', relation: '' });
    });
  };
  const scopes: Array<{ id: string; name: string }> =
    form.role === 'operator' || form.role === 'visitor' ? stations : form.role === 'provider' ? providers : form.role === 'family' ? [...s.residents.values()].map((r) => ({ id: r.id, name: r.name })) : [];

  return (
    <section class="users" data-testid="users">
      <div class="section-head">
        <h1>{t('users.title')}</h1>
        <input type="search" placeholder={t('users.search')} value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} data-testid="users-search" />
      </div>
      {given && (
        <div class="banner notice given" role="status" data-testid="given-password">
          {t('users.given', { username: given.username })} <code>{given.password}</code>
          <button class="ghost" onClick={() => setGiven(null)}>
            {t('users.givenDone')}
          </button>
        </div>
      )}
      <ErrorLine error={error} />
      <form class="card create-user" onSubmit={create} data-testid="create-user">
        <h2>{t('users.create')}</h2>
        <label>
          {t('account.username')}
          <input name="username" value={form.username} onInput={(e) => setForm({ ...form, username: (e.target as HTMLInputElement).value })} required />
        </label>
        <label>
          {t('users.displayName')}
          <input name="displayName" value={form.displayName} onInput={(e) => setForm({ ...form, displayName: (e.target as HTMLInputElement).value })} />
        </label>
        <label>
          {t('account.role')}
          <select name="role" value={form.role} onChange={(e) => setForm({ ...form, role: (e.target as HTMLSelectElement).value as Role, scope: '' })}>
            {(['operator', 'visitor', 'provider', 'family', 'admin'] as const).map((r) => (
              <option value={r}>{t(`role.${r}`)}</option>
            ))}
          </select>
        </label>
        {form.role !== 'admin' && (
          <label>
            {t(`users.scope.${form.role}` as 'users.scope.operator')}
            <select name="scope" value={form.scope} onChange={(e) => setForm({ ...form, scope: (e.target as HTMLSelectElement).value })} required>
              <option value="">—</option>
              {scopes.map((x) => (
                <option value={x.id}>{x.name}</option>
              ))}
            </select>
          </label>
        )}
        {form.role === 'family' && (
          <label>
            {t('users.relation')}
            <input name="relation" value={form.relation} onInput={(e) => setForm({ ...form, relation: (e.target as HTMLInputElement).value })} />
          </label>
        )}
        <button type="submit" class="primary">
          {t('users.createSubmit')}
        </button>
      </form>
      <table class="users-table">
        <thead>
          <tr>
            <th>{t('account.username')}</th>
            <th>{t('users.displayName')}</th>
            <th>{t('account.role')}</th>
            <th>{t('users.scope')}</th>
            <th>{t('users.state')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {shown.map((u) => (
            <tr data-user={u.username} class={u.disabled ? 'offline' : ''}>
              <td>{u.username}</td>
              <td>{u.displayName ?? ''}</td>
              <td>{t(`role.${u.role}`)}</td>
              <td>{scopeName(u)}</td>
              <td>{t(u.disabled ? 'users.disabled' : 'users.active')}</td>
              <td class="actions">
                <div>
                {u.username !== s.session?.user.username &&
                  (u.disabled ? (
                    <button class="ghost" data-action="enable" onClick={() => void act(() => api('POST', `/users/${u.id}/enable`))}>
                      {t('users.enable')}
                    </button>
                  ) : (
                    <button class="ghost" data-action="disable" onClick={() => void act(() => api('POST', `/users/${u.id}/disable`))}>
                      {t('users.disable')}
                    </button>
                  ))}
                {u.username !== s.session?.user.username && (
                <button
                  class="ghost"
                  data-action="password"
                  onClick={() =>
                    void act(async () => {
                      const r = await api<{ username: string; password: string }>('POST', `/users/${u.id}/password`);
                      setGiven(r);
                    })
                  }
                >
                  {t('users.newPassword')}
                </button>
                )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
