import { useEffect, useState } from 'preact/hooks';
import { api, type DeadLetter, type Device, type Provider, type Station } from '../api.ts';
import { store, t, useConsole, when } from '../state.ts';
import { isLowBattery } from '../../../core/battery.ts';
import { AddDevice, CredentialsDialog, DeviceDialog, type Credentials } from './device-admin.tsx';

type StateFilter = 'all' | 'online' | 'offline' | 'low' | 'unprovisioned';

/** Every device the user may see: status, battery, last seen, provisioning; filters; a device's rejected messages. */
export function Fleet() {
  const s = useConsole();
  const [devices, setDevices] = useState<Device[]>([]);
  const [stations, setStations] = useState<Station[]>([]);
  const [providers, setProviders] = useState<Provider[]>([]);
  const [station, setStation] = useState('');
  const [provider, setProvider] = useState('');
  const [state, setState] = useState<StateFilter>('all');
  const [open, setOpen] = useState<{ id: string; letters: DeadLetter[] } | null>(null);
  const [search, setSearch] = useState('');
  const [adding, setAdding] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  /** Credentials issued in this visit of the page, per home, for the installation sheet; never stored. */
  const [issued, setIssued] = useState<Array<{ residentId: string | null; credentials: Credentials }>>([]);
  const [showing, setShowing] = useState<{ residentId: string | null; credentials: Credentials } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const manages = s.session?.user.role !== 'family';
  const reload = () => void api<Device[]>('GET', '/devices').then(setDevices).catch(() => {});
  const issue = (credentials: Credentials, residentId: string | null) => {
    const entry = { residentId, credentials };
    setIssued((list) => [...list.filter((x) => x.credentials.id !== credentials.id), entry]);
    setShowing(entry);
    reload();
  };

  useEffect(() => {
    void store.loadResidents().catch(() => {});
    void api<Device[]>('GET', '/devices').then(setDevices).catch(() => {});
    void api<Station[]>('GET', '/stations').then(setStations).catch(() => {});
    void api<Provider[]>('GET', '/providers').then(setProviders).catch(() => {});
    const onLive = (e: Event) => {
      const ev = (e as CustomEvent).detail as { event: string; data: { deviceId: string; online: boolean; lastSeen: string } };
      if (ev.event !== 'device.status') return;
      setDevices((list) => list.map((d) => (d.id === ev.data.deviceId ? { ...d, online: ev.data.online, lastSeen: ev.data.lastSeen } : d)));
    };
    addEventListener('carebell:live', onLive);
    return () => removeEventListener('carebell:live', onLive);
  }, []);

  const resident = (id: string | null) => (id ? s.residents.get(id) : undefined);
  const stationOf = (d: Device) => d.stationId ?? resident(d.residentId)?.stationId ?? null;
  const stationName = new Map(stations.map((x) => [x.id, x.name]));
  const below = (root: string): Set<string> => {
    const out = new Set([root]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const x of stations) if (x.parentId && out.has(x.parentId) && !out.has(x.id)) (out.add(x.id), (grew = true));
    }
    return out;
  };
  const inStation = station ? below(station) : null;
  const needle = search.trim().toLowerCase();
  const shown = devices.filter(
    (d) =>
      !d.decommissioned &&
      (!needle || [d.id, resident(d.residentId)?.name ?? '', resident(d.residentId)?.address ?? '', stationName.get(stationOf(d) ?? '') ?? ''].some((x) => x.toLowerCase().includes(needle))) &&
      (!inStation || inStation.has(stationOf(d) ?? '')) &&
      (!provider || d.providerId === provider) &&
      (state === 'all' ||
        (state === 'online' && d.online) ||
        (state === 'offline' && !d.online) ||
        (state === 'low' && isLowBattery(d.battery)) ||
        (state === 'unprovisioned' && !d.provisioned)),
  );

  const showLetters = async (id: string) => setOpen({ id, letters: await api<DeadLetter[]>('GET', `/devices/${id}/dead-letters?limit=50`).catch(() => []) });

  return (
    <section class="fleet">
      <div class="section-head">
        <h1>{t('fleet.title')}</h1>
        <span class="muted" data-testid="fleet-count">
          {t('fleet.count', { n: shown.length })}
        </span>
        <input type="search" class="search" placeholder={t('devices.search')} value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} data-testid="devices-search" />
        {manages && (
          <button class="primary" data-action="add-device" onClick={() => setAdding(true)}>
            {t('devices.add')}
          </button>
        )}
      </div>
      {notice && (
        <p class="notice" role="status" data-testid="devices-notice">
          {notice}
        </p>
      )}
      <div class="filters card">
        <label>
          {t('fleet.station')}
          <select value={station} onChange={(e) => setStation((e.target as HTMLSelectElement).value)} data-testid="filter-station">
            <option value="">{t('fleet.all')}</option>
            {stations.map((x) => (
              <option value={x.id}>{x.name}</option>
            ))}
          </select>
        </label>
        {providers.length > 1 && (
          <label>
            {t('fleet.provider')}
            <select value={provider} onChange={(e) => setProvider((e.target as HTMLSelectElement).value)} data-testid="filter-provider">
              <option value="">{t('fleet.all')}</option>
              {providers.map((p) => (
                <option value={p.id}>{p.name}</option>
              ))}
            </select>
          </label>
        )}
        <label>
          {t('fleet.state')}
          <select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value as StateFilter)} data-testid="filter-state">
            <option value="all">{t('fleet.all')}</option>
            <option value="online">{t('fleet.onlineOnly')}</option>
            <option value="offline">{t('fleet.offlineOnly')}</option>
            <option value="low">{t('fleet.lowBattery')}</option>
            <option value="unprovisioned">{t('fleet.notProvisioned')}</option>
          </select>
        </label>
      </div>
      <table class="fleet-table" data-testid="fleet">
        <thead>
          <tr>
            <th>{t('fleet.device')}</th>
            <th>{t('fleet.profile')}</th>
            <th>{t('queue.resident')}</th>
            <th class="wide">{t('fleet.station')}</th>
            <th>{t('fleet.state')}</th>
            <th>{t('device.battery')}</th>
            <th>{t('device.lastSeen')}</th>
            <th>{t('fleet.provisioning')}</th>
            <th>{t('fleet.deadLetters')}</th>
            {manages && <th />}
          </tr>
        </thead>
        <tbody>
          {shown.map((d) => (
            <tr data-device={d.id} class={d.online ? '' : 'offline'}>
              <td>{d.id}</td>
              <td class="muted" title={d.profile}>
                {s.profiles.get(d.profile)?.model ?? d.profile}
              </td>
              <td>{resident(d.residentId)?.name ?? '—'}</td>
              <td class="wide">{stationName.get(stationOf(d) ?? '') ?? '—'}</td>
              <td>
                <span class={`dot ${d.online ? 'on' : 'off'}`} /> {t(d.online ? 'device.online' : 'device.offline')}
              </td>
              <td class={isLowBattery(d.battery) ? 'warn' : ''}>{d.battery === null ? '—' : `${Math.round(d.battery)} %`}</td>
              <td>{d.lastSeen ? when(d.lastSeen, s.lang) : t('device.never')}</td>
              <td>{d.provisioned ? `✓ ${t('device.provisioned')}` : `✗ ${t('device.notProvisioned')}`}</td>
              <td>
                <button class="ghost small" onClick={() => void showLetters(d.id)} data-action="dead-letters">
                  {t('fleet.deadLetters')}
                </button>
              </td>
              {manages && (
                <td>
                  <button class="ghost small" onClick={() => setSelected(d.id)} data-action="open-device">
                    {t('devices.open')}
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {adding && (
        <AddDevice
          onClose={() => setAdding(false)}
          onDone={(c, residentId) => {
            setAdding(false);
            issue(c, residentId);
          }}
        />
      )}
      {selected && devices.find((d) => d.id === selected) && (
        <DeviceDialog
          device={devices.find((d) => d.id === selected)!}
          onClose={() => setSelected(null)}
          onCredentials={(c) => {
            setSelected(null);
            issue(c, devices.find((d) => d.id === c.id)?.residentId ?? null);
          }}
          onChanged={(message) => {
            setSelected(null);
            setNotice(message);
            reload();
          }}
        />
      )}
      {showing && (
        <CredentialsDialog
          credentials={showing.credentials}
          residentId={showing.residentId}
          home={issued.filter((x) => x.residentId === showing.residentId).map((x) => x.credentials)}
          onClose={() => {
            setShowing(null);
            setSelected(showing.credentials.id);
          }}
        />
      )}
      {open && (
        <div class="backdrop" onClick={(e) => e.target === e.currentTarget && setOpen(null)}>
          <div class="dialog card wide-dialog" role="dialog" data-testid="dead-letters">
            <h2>
              {t('fleet.deadLetters')} · {open.id}
            </h2>
            {open.letters.length === 0 ? (
              <p class="muted">{t('fleet.noDeadLetters')}</p>
            ) : (
              <ul class="letters">
                {open.letters.map((l) => (
                  <li>
                    <time>{when(l.receivedAt, s.lang)}</time> <code>{l.code}</code> {l.reason}
                    {l.payloadText && <pre>{l.payloadText}</pre>}
                  </li>
                ))}
              </ul>
            )}
            <div class="row end">
              <button class="primary" onClick={() => setOpen(null)}>
                {t('action.back')}
              </button>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}
