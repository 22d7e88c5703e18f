import { api, type Alarm } from './api.ts';
import { store } from './state.ts';

/** Alarm actions: each answer is the alarm as it now is, put straight into the queue. */
const act = async (id: string, path: string, body: unknown = {}): Promise<Alarm> => {
  try {
    const alarm = await api<Alarm>('POST', `/alarms/${id}/${path}`, body);
    store.putAlarm(alarm);
    window.dispatchEvent(new CustomEvent('carebell:changed', { detail: alarm }));
    return alarm;
  } catch (err) {
    store.set({ error: (err as Error).message });
    throw err;
  }
};

export const acknowledge = (id: string, note?: string) => act(id, 'ack', note ? { note } : {});
export const take = (id: string) => act(id, 'assign', {});
export const addNote = (id: string, note: string) => act(id, 'notes', { note });
export const resolve = (id: string, outcome: string, note?: string) => act(id, 'resolve', { outcome, ...(note ? { note } : {}) });

export const outcomes = ['false_alarm', 'handled_remotely', 'visited', 'ambulance', 'other'] as const;
