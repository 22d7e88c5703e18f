import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, useToken, type Alarm, type Resident } from './api.ts';
import { audioState, lostConnectionTone, notifyHidden, onAudioState, setAlarmSound, unlockAudioOnAnyGesture } from './alert.ts';
import { term } from './i18n.ts';
import { openLive } from './live.ts';
import { elapsed, store, t, useConsole, type ConsoleState } from './state.ts';
import { Login } from './views/login.tsx';
import { Queue } from './views/queue.tsx';
import { AlarmDetailView } from './views/alarm-detail.tsx';
import { Fleet } from './views/fleet.tsx';
import { Family } from './views/family.tsx';
import { EmergencyCard } from './views/care.tsx';
import { Account } from './views/account.tsx';
import { Users } from './views/users.tsx';
import { Stations } from './views/stations.tsx';
import { Import } from './views/import.tsx';
import { Residents } from './views/residents.tsx';
import { Reports } from './views/reports.tsx';
import { Visits } from './views/visits.tsx';
import { Services } from './views/services.tsx';
import { DeviceTests, TestBanner, testReceived, type TestReceived } from './views/tests.tsx';
import { Round } from './views/round.tsx';
import { Bell } from './views/icon.tsx';
import './app.css';

/** `#/`, `#/alarm/<id>`, `#/fleet`, `#/card/<resident>`, `#/account`, `#/reports[/<station>[/<month>]]` and the administration pages. */
function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function logout(): void {
  const token = store.state.session?.token;
  store.set({ session: null, alarms: new Map(), residents: new Map() });
  if (token) void fetch('/api/v1/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${token}` } }).catch(() => {});
  location.hash = '#/';
}

/** After a password change every login has ended, this one too: back to the login page, which says why. */
function loggedOutByPasswordChange(): void {
  store.set({ session: null, alarms: new Map(), residents: new Map() });
  location.hash = '#/';
}

/** While a critical alarm waits unacknowledged, a red strip on every page says so and leads to it. */
function CriticalBanner() {
  const s = useConsole();
  const waiting = [...s.alarms.values()].filter((a) => a.severity === 'critical' && a.state === 'open').sort((a, b) => Date.parse(a.raisedAt) - Date.parse(b.raisedAt));
  const oldest = waiting[0];
  if (!oldest) return null;
  return (
    <a class="banner critical" href={`#/alarm/${oldest.id}`} data-testid="critical-banner">
      <Bell /> {t('banner.critical', { n: waiting.length })} · {term(s.lang, 'alarm', oldest.type)} · {s.residents.get(oldest.residentId ?? '')?.name ?? ''} · {elapsed(oldest.raisedAt, s.now)}
    </a>
  );
}

/** The gateway cannot store what devices send (a full disk), or is low on space: staff must know at once. */
function StorageBanner() {
  const st = useConsole().storage;
  if (!st || (st.writable && !st.lowSpace)) return null;
  const free = st.freeBytes === null ? '?' : `${Math.round(st.freeBytes / 1_048_576)} MB`;
  return (
    <div class={`banner ${st.writable ? 'warning' : 'critical'}`} role="alert" data-testid="storage-banner">
      {st.writable ? t('banner.lowSpace', { free }) : t('banner.storage', { reason: st.reason ?? '' })}
    </div>
  );
}

/** A resident's printable emergency card. */
function CardPage({ residentId }: { residentId: string }) {
  const [resident, setResident] = useState<Resident | null>(null);
  useEffect(() => void api<Resident>('GET', `/residents/${residentId}`).then(setResident).catch(() => {}), [residentId]);
  return resident ? <EmergencyCard resident={resident} /> : <p class="card empty">…</p>;
}

/** Staff who answer alarms (the call tone and its warnings are theirs). */
const handlesAlarms = (session: ConsoleState['session']): boolean => session?.user.role === 'admin' || session?.user.role === 'operator';

/** The live connection lost is loud: a full-width banner (and a tone); back, it says what came up meanwhile. */
function LiveBanner() {
  const s = useConsole();
  if (s.lostSince !== null) {
    return (
      <div class="banner lost" role="alert" data-testid="lost-banner">
        {t('banner.lost', { since: elapsed(new Date(s.lostSince).toISOString(), s.now) })}
      </div>
    );
  }
  if (s.reconnected) {
    return (
      <div class="banner back" role="status" data-testid="back-banner">
        {t('banner.back', { n: s.reconnected.missed })}
      </div>
    );
  }
  return null;
}

/** A visitor's phone: today's round and nothing else. */
function VisitorShell() {
  const s = useConsole();
  return (
    <div class="shell role-visitor">
      <header class="topbar">
        <span class="brand">
          <Bell /> carebell <span class="brand-sub">{t('round.brand')}</span>
        </span>
        <span class="spacer" />
        <button class="ghost" onClick={() => store.set({ lang: s.lang === 'zh' ? 'en' : 'zh' })} data-testid="lang">
          {t('lang.switch')}
        </button>
        <a class="user" href="#/account" title={t('nav.account')} data-testid="account-link">
          {s.session?.user.displayName ?? s.session?.user.username}
        </a>
        <button class="ghost" onClick={logout}>
          {t('logout')}
        </button>
      </header>
      <main>{location.hash.startsWith('#/account') ? <Account onPasswordChanged={loggedOutByPasswordChange} /> : <Round />}</main>
    </div>
  );
}

function App() {
  const s = useConsole();
  const route = useRoute();
  const session = s.session;
  useToken(session?.token ?? null, logout);
  document.documentElement.lang = s.lang === 'zh' ? 'zh-CN' : 'en';

  // The live stream and the open alarms, while logged in.
  useEffect(() => {
    // A visitor records visits: no alarms, no live stream (views/round.tsx).
    if (!session || session.user.role === 'visitor') return;
    void store.loadAlarms().catch((err: Error) => store.set({ error: err.message }));
    void store.loadProfiles().catch(() => {});
    if (session.user.role !== 'family') void store.loadStations().catch(() => {});
    let before = new Set<string>();
    const close = openLive(session.token, {
      state: (live) => {
        const was = store.state.live;
        if (live === 'reconnecting' && was === 'connected') {
          before = new Set(store.state.alarms.keys());
          store.set({ live, lostSince: Date.now(), reconnected: null });
        } else if (live === 'connected' && store.state.lostSince !== null) {
          // Back: the lists are reloaded (reset), then what came up meanwhile is counted and said.
          store.set({ live, lostSince: null });
          void store.loadAlarms().then(() => {
            const missed = [...store.state.alarms.keys()].filter((id) => !before.has(id)).length;
            store.set({ reconnected: { missed, at: Date.now() } });
          });
        } else store.set({ live });
      },
      ended: () => logout(), // logged out elsewhere, disabled, password changed or expired: back to the login page
      reset: () => void store.loadAlarms().catch(() => {}),
      event: (e) => {
        if (e.event === 'alarm.raised' || e.event === 'alarm.updated') {
          const alarm = e.data as Alarm & { change?: string };
          store.putAlarm(alarm);
          if (e.event === 'alarm.raised' && alarm.severity === 'critical') {
            notifyHidden(t('notify.title', { type: term(store.state.lang, 'alarm', alarm.type) }), store.state.residents.get(alarm.residentId ?? '')?.name ?? '', alarm.id);
          }
        }
        if (e.event === 'gateway.storage') store.set({ storage: e.data as ConsoleState['storage'] });
        if (e.event === 'device.test') testReceived(e.data as TestReceived);
        window.dispatchEvent(new CustomEvent('carebell:live', { detail: e }));
      },
    });
    // The state when the page opens (later changes come on the live stream).
    void fetch('/readyz')
      .then((r) => r.json())
      .then((r: { checks?: { storage?: { ok: boolean; detail?: string } } }) => {
        const st = r.checks?.storage;
        if (st && !st.ok) store.set({ storage: { writable: false, lowSpace: false, freeBytes: null, reason: st.detail ?? null } });
      })
      .catch(() => {});
    const tick = setInterval(() => {
      const now = Date.now();
      const { lostSince, reconnected, muted } = store.state;
      // Lost: a low tone every 10 s where sound is on (staff who answer alarms).
      if (lostSince !== null && !muted && handlesAlarms(store.state.session) && Math.floor((now - lostSince) / 1000) % 10 === 0) lostConnectionTone();
      store.set({ now, ...(reconnected && now - reconnected.at > 15_000 ? { reconnected: null } : {}) });
    }, 1_000);
    return () => {
      close();
      clearInterval(tick);
    };
  }, [session?.token]);

  // A critical alarm nobody has acknowledged sounds until someone does (or the user mutes this session).
  // (Station staff only: they are the ones who answer; a family member's phone shows the alarm on their page.)
  const handles = handlesAlarms(session);
  const ringing = handles && [...s.alarms.values()].some((a) => a.severity === 'critical' && a.state === 'open');
  useEffect(() => setAlarmSound(ringing && !s.muted), [ringing, s.muted]);

  if (!session) return <Login />;
  if (session.user.role === 'visitor') return <VisitorShell />;
  const family = session.user.role === 'family';
  const page = route[0] ?? '';

  return (
    <div class={`shell role-${session.user.role}`}>
      <header class="topbar">
        <a class="brand" href="#/">
          <Bell /> carebell <span class="brand-sub">{t('brand')}</span>
        </a>
        {!family && (
          <nav>
            <a href="#/" class={page === '' || page === 'alarm' ? 'active' : ''}>
              {t('nav.queue')}
              {s.alarms.size > 0 && <span class="count">{s.alarms.size}</span>}
            </a>
            <a href="#/fleet" class={page === 'fleet' ? 'active' : ''}>
              {t('nav.fleet')}
            </a>
            {handles && (
              <a href="#/visits" class={page === 'visits' ? 'active' : ''} data-testid="nav-visits">
                {t('nav.visits')}
              </a>
            )}
            <a href="#/services" class={page === 'services' ? 'active' : ''} data-testid="nav-services">
              {t('nav.services')}
            </a>
            <a href="#/tests" class={page === 'tests' ? 'active' : ''} data-testid="nav-tests">
              {t('nav.tests')}
            </a>
            <a href="#/residents" class={`nav-admin ${page === 'residents' ? 'active' : ''}`} data-testid="nav-residents">
              {t('nav.residents')}
            </a>
            {session.user.role !== 'family' && (
              <a href="#/import" class={`nav-admin ${page === 'import' ? 'active' : ''}`} data-testid="nav-import">
                {t('nav.import')}
              </a>
            )}
            <a href="#/reports" class={`nav-admin ${page === 'reports' ? 'active' : ''}`} data-testid="nav-reports">
              {t('nav.reports')}
            </a>
            {session.user.role === 'admin' && (
              <a href="#/stations" class={`nav-admin ${page === 'stations' ? 'active' : ''}`} data-testid="nav-stations">
                {t('nav.stations')}
              </a>
            )}
            {session.user.role === 'admin' && (
              <a href="#/users" class={`nav-admin ${page === 'users' ? 'active' : ''}`} data-testid="nav-users">
                {t('nav.users')}
              </a>
            )}
          </nav>
        )}
        <span class={`live live-${s.live}`} role="status" data-testid="live">
          {t(s.live === 'connected' ? 'live.connected' : s.live === 'connecting' ? 'live.connecting' : 'live.reconnecting')}
        </span>
        <span class="spacer" />
        {handles && (
          <button class="ghost" onClick={() => store.set({ muted: !s.muted })} data-testid="mute" title="M">
            {t(s.muted ? 'sound.off' : 'sound.on')}
          </button>
        )}
        <button class="ghost" onClick={() => store.set({ lang: s.lang === 'zh' ? 'en' : 'zh' })} data-testid="lang">
          {t('lang.switch')}
        </button>
        <a class={`user ${page === 'account' ? 'active' : ''}`} href="#/account" title={t('nav.account')} data-testid="account-link">
          {session.user.displayName ?? session.user.username}
        </a>
        <button class="ghost" onClick={logout}>
          {t('logout')}
        </button>
      </header>
      <LiveBanner />
      {handles && !s.muted && s.audio === 'locked' && (
        <div class="banner sound-locked" role="alert" data-testid="sound-locked">
          <Bell /> {t('banner.soundLocked')}
        </div>
      )}
      {!family && <StorageBanner />}
      {!family && <TestBanner />}
      {!family && ringing && <CriticalBanner />}
      {s.error && (
        <div class="banner error" onClick={() => store.set({ error: null })}>
          {t('error.generic', { message: s.error })}
        </div>
      )}
      <main>
        {page === 'account' ? (
          <Account onPasswordChanged={loggedOutByPasswordChange} />
        ) : family ? (
          page === 'alarm' && route[1] ? <AlarmDetailView id={route[1]} /> : <Family />
        ) : page === 'alarm' && route[1] ? (
          <AlarmDetailView id={route[1]} />
        ) : page === 'card' && route[1] ? (
          <CardPage residentId={route[1]} />
        ) : page === 'fleet' ? (
          <Fleet />
        ) : page === 'users' && session.user.role === 'admin' ? (
          <Users />
        ) : page === 'stations' && session.user.role === 'admin' ? (
          <Stations />
        ) : page === 'import' ? (
          <Import />
        ) : page === 'residents' ? (
          <Residents />
        ) : page === 'visits' && handles ? (
          <Visits />
        ) : page === 'services' ? (
          <Services />
        ) : page === 'tests' ? (
          <DeviceTests />
        ) : page === 'reports' ? (
          <Reports {...(route[1] ? { station: route[1] } : {})} {...(route[2] ? { month: route[2] } : {})} />
        ) : (
          <Queue />
        )}
      </main>
    </div>
  );
}

unlockAudioOnAnyGesture();
store.set({ audio: audioState() });
onAudioState((audio) => store.set({ audio }));
render(<App />, document.getElementById('app')!);
