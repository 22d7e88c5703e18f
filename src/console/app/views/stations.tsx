import { describeError } from '../errors.ts';
import { useEffect, useState } from 'preact/hooks';
import { api, type Station } from '../api.ts';
import { t } from '../state.ts';
import { ErrorLine } from './error-line.tsx';

type Node = Station & { webhookUrl: string | null };
const childLevel: Record<string, 'street' | 'community' | null> = { district: 'street', street: 'community', community: null };

/** The organisation tree (administrators): district centres → street centres → community stations; add, rename, set a webhook. */
export function Stations() {
  const [stations, setStations] = useState<Node[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<{ id: string; name: string; webhookUrl: string } | null>(null);
  const [adding, setAdding] = useState<{ parentId: string | null; level: 'district' | 'street' | 'community'; name: string } | null>(null);
  const [search, setSearch] = useState('');

  const load = () => void api<Node[]>('GET', '/stations').then(setStations).catch(() => {});
  useEffect(load, []);
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      setEditing(null);
      setAdding(null);
      load();
    } catch (err) {
      setError(describeError(err));
    }
  };

  const addForm = (parentId: string | null) =>
    adding && adding.parentId === parentId ? (
      <form
        class="station-form"
        data-testid="add-station"
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => api('POST', '/stations', { name: adding.name.trim(), level: adding.level, ...(parentId ? { parentId } : {}) }));
        }}
      >
        <input name="name" placeholder={t(`stations.new.${adding.level}`)} value={adding.name} onInput={(e) => setAdding({ ...adding, name: (e.target as HTMLInputElement).value })} required autofocus />
        <button type="submit" class="primary">
          {t('stations.add')}
        </button>
        <button type="button" class="ghost" onClick={() => setAdding(null)}>
          {t('stations.cancel')}
        </button>
      </form>
    ) : null;

  // A search keeps the stations whose name matches and the branches that lead to them.
  const needle = search.trim().toLowerCase();
  const matches = (x: Node): boolean => x.name.toLowerCase().includes(needle) || stations.some((y) => y.parentId === x.id && matches(y));
  const branch = (parentId: string | null) => {
    const here = stations.filter((x) => x.parentId === parentId && (!needle || matches(x))).sort((a, b) => a.name.localeCompare(b.name, 'zh'));
    if (here.length === 0) return null;
    return (
      <ul class="tree">
        {here.map((x) => {
          const below = childLevel[x.level] ?? null;
          return (
            <li data-station={x.name} data-level={x.level}>
              {editing?.id === x.id ? (
                <form
                  class="station-form"
                  data-testid="edit-station"
                  onSubmit={(e) => {
                    e.preventDefault();
                    void act(() => api('PATCH', `/stations/${x.id}`, { name: editing.name.trim(), webhookUrl: editing.webhookUrl.trim() || null }));
                  }}
                >
                  <input name="name" value={editing.name} onInput={(e) => setEditing({ ...editing, name: (e.target as HTMLInputElement).value })} required />
                  <input name="webhookUrl" type="url" placeholder={t('stations.webhook')} value={editing.webhookUrl} onInput={(e) => setEditing({ ...editing, webhookUrl: (e.target as HTMLInputElement).value })} />
                  <button type="submit" class="primary">
                    {t('stations.save')}
                  </button>
                  <button type="button" class="ghost" onClick={() => setEditing(null)}>
                    {t('stations.cancel')}
                  </button>
                </form>
              ) : (
                <div class="station-row">
                  <span class={`level-tag level-${x.level}`}>{t(`stations.level.${x.level}` as 'stations.level.district')}</span>
                  <strong>{x.name}</strong>
                  {x.webhookUrl && (
                    <span class="muted" title={x.webhookUrl}>
                      {t('stations.hasWebhook')}
                    </span>
                  )}
                  <span class="spacer" />
                  <button class="ghost" data-action="edit" onClick={() => setEditing({ id: x.id, name: x.name, webhookUrl: x.webhookUrl ?? '' })}>
                    {t('stations.edit')}
                  </button>
                  {below && (
                    <button class="ghost" data-action="add-child" onClick={() => setAdding({ parentId: x.id, level: below, name: '' })}>
                      {t(`stations.new.${below}`)}
                    </button>
                  )}
                </div>
              )}
              {addForm(x.id)}
              {branch(x.id)}
            </li>
          );
        })}
      </ul>
    );
  };

  return (
    <section class="stations" data-testid="stations">
      <div class="section-head">
        <h1>{t('stations.title')}</h1>
        <input type="search" class="search" placeholder={t('stations.search')} value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} data-testid="stations-search" />
        <button class="primary" data-action="add-district" onClick={() => setAdding({ parentId: null, level: 'district', name: '' })}>
          {t('stations.new.district')}
        </button>
      </div>
      <ErrorLine error={error} />
      <div class="card">
        {addForm(null)}
        {stations.length === 0 ? <p class="muted">{t('stations.empty')}</p> : branch(null)}
      </div>
    </section>
  );
}
