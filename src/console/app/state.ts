import { useEffect, useState } from 'preact/hooks';
import { api, type Alarm, type Resident, type Session } from './api.ts';
import { translate, type Key, type Lang } from './i18n.ts';
import type { LiveState } from './live.ts';

/** What every view shares: the session, the language, the live connection and the open alarms. */
export interface ConsoleState {
  session: Session | null;
  lang: Lang;
  muted: boolean;
  live: LiveState;
  /** Open and acknowledged alarms in the user's scope, by id. */
  alarms: Map<string, Alarm>;
  residents: Map<string, Resident>;
  /** Stations in the user's scope, by id (staff): the queue's station column. */
  stations: Map<string, { id: string; name: string; level: string }>;
  /** Device models by profile id, for showing a model's name instead of its id. */
  profiles: Map<string, { id: string; vendor: string; model: string; kind: string }>;
  /** Whether the page may make sound (a user gesture unlocks it). */
  audio: 'running' | 'locked' | 'unavailable';
  /** Since when (Date.now()) the live connection is lost, after it had been up; null while connected. */
  lostSince: number | null;
  /** After a reconnect: how many alarms came up while the connection was down, and when it came back. */
  reconnected: { missed: number; at: number } | null;
  /** The gateway's data directory, when it cannot take writes or is low on space (from the live stream and /readyz). */
  storage: { writable: boolean; lowSpace: boolean; freeBytes: number | null; reason: string | null } | null;
  /** Bumped every second, so elapsed times count up. */
  now: number;
  error: string | null;
  /** A message for the login page (e.g. the password was changed), as a key of the console's strings. */
  notice: Key | null;
  /** Button tests received on the live stream this session, newest first (views/tests.tsx). */
  testsReceived: Array<{ deviceId: string; residentName: string | null; at: string }>;
  /** The latest, with when it was shown: "test received" for a few seconds. */
  lastTest: { deviceId: string; residentName: string | null; at: string; shownAt: number } | null;
}

type Listener = () => void;

const stored = <T,>(storage: Storage, key: string, fallback: T): T => {
  try {
    const v = storage.getItem(key);
    return v === null ? fallback : (JSON.parse(v) as T);
  } catch {
    return fallback;
  }
};

export class Store {
  state: ConsoleState = {
    session: stored<Session | null>(sessionStorage, 'carebell.session', null),
    lang: stored<Lang>(localStorage, 'carebell.lang', 'zh'),
    muted: stored<boolean>(sessionStorage, 'carebell.muted', false),
    live: 'connecting',
    alarms: new Map(),
    residents: new Map(),
    stations: new Map(),
    profiles: new Map(),
    now: Date.now(),
    audio: 'locked',
    lostSince: null,
    reconnected: null,
    storage: null,
    error: null,
    notice: null,
    testsReceived: [],
    lastTest: null,
  };
  readonly #listeners = new Set<Listener>();

  subscribe(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  set(patch: Partial<ConsoleState>): void {
    this.state = { ...this.state, ...patch };
    if ('session' in patch) sessionStorage.setItem('carebell.session', JSON.stringify(patch.session));
    if ('lang' in patch) localStorage.setItem('carebell.lang', JSON.stringify(patch.lang));
    if ('muted' in patch) sessionStorage.setItem('carebell.muted', JSON.stringify(patch.muted));
    for (const fn of this.#listeners) fn();
  }

  /** An alarm as it is now: kept while open or acknowledged, dropped from the queue once resolved. */
  putAlarm(alarm: Alarm): void {
    const alarms = new Map(this.state.alarms);
    if (alarm.state === 'resolved') alarms.delete(alarm.id);
    else alarms.set(alarm.id, alarm);
    this.set({ alarms });
    if (alarm.residentId && !this.state.residents.has(alarm.residentId)) void this.loadResident(alarm.residentId);
  }

  async loadAlarms(): Promise<void> {
    const [open, acknowledged] = await Promise.all([api<Alarm[]>('GET', '/alarms?state=open&limit=500'), api<Alarm[]>('GET', '/alarms?state=acknowledged&limit=500')]);
    this.set({ alarms: new Map([...open, ...acknowledged].map((a) => [a.id, a])) });
    const missing = new Set([...open, ...acknowledged].map((a) => a.residentId).filter((id): id is string => id !== null && !this.state.residents.has(id)));
    if (missing.size > 0) await this.loadResidents();
  }

  async loadStations(): Promise<void> {
    const list = await api<Array<{ id: string; name: string; level: string }>>('GET', '/stations');
    this.set({ stations: new Map(list.map((st) => [st.id, st])) });
  }

  async loadProfiles(): Promise<void> {
    const list = await api<Array<{ id: string; vendor: string; model: string; kind: string }>>('GET', '/profiles');
    this.set({ profiles: new Map(list.map((p) => [p.id, p])) });
  }

  async loadResidents(): Promise<void> {
    const list = await api<Resident[]>('GET', '/residents');
    this.set({ residents: new Map(list.map((r) => [r.id, r])) });
  }

  async loadResident(id: string): Promise<void> {
    const r = await api<Resident>('GET', `/residents/${id}`).catch(() => undefined);
    if (r) this.set({ residents: new Map(this.state.residents).set(r.id, r) });
  }
}

export const store = new Store();

export function useConsole(): ConsoleState {
  const [, force] = useState(0);
  useEffect(() => store.subscribe(() => force((n) => n + 1)), []);
  return store.state;
}

/** Critical first, then the longest waiting; acknowledged ones after every open one of their severity. */
export function queueOrder(a: Alarm, b: Alarm): number {
  const rank = { critical: 0, major: 1, minor: 2, info: 3 } as const;
  return rank[a.severity] - rank[b.severity] || (a.state === b.state ? 0 : a.state === 'open' ? -1 : 1) || Date.parse(a.raisedAt) - Date.parse(b.raisedAt);
}

export function elapsed(fromIso: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

export function when(iso: string | null, lang: Lang): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** A string of the console in the current language. */
export const t = (key: Key, vars?: Record<string, string | number>): string => translate(store.state.lang, key, vars);
