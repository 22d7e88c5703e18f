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
/** A family member's answer: going (with an ETA in minutes) or not able to. Not an acknowledgement. */
export const respond = (id: string, going: boolean, etaMinutes?: number) => act(id, 'respond', going && etaMinutes !== undefined ? { going, etaMinutes } : { going });
export const take = (id: string) => act(id, 'assign', {});
/** Staff: a contact's answer taken by phone. */
export const recordResponse = (id: string, contact: string, going: boolean, etaMinutes?: number) => act(id, 'respond', { contact, going, ...(going && etaMinutes !== undefined ? { etaMinutes } : {}) });
export const logCall = (id: string, contact: string, outcome: string, note?: string) => act(id, 'calls', { contact, outcome, ...(note ? { note } : {}) });
export const onSite = (id: string, who: string) => act(id, 'on-site', { who });
export const handOver = (id: string, username: string) => act(id, 'assign', { username });
export const addNote = (id: string, note: string) => act(id, 'notes', { note });
export const resolve = (id: string, outcome: string, note?: string) => act(id, 'resolve', { outcome, ...(note ? { note } : {}) });

export const outcomes = ['false_alarm', 'handled_remotely', 'visited', 'ambulance', 'other'] as const;
