/** Minutes since local midnight of `epochMs` in an IANA time zone (the resident's). */
const formatters = new Map<string, Intl.DateTimeFormat>();

export function localMinutes(epochMs: number, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) formatters.set(timeZone, (f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })));
  const parts = f.formatToParts(new Date(epochMs));
  const hour = Number(parts.find((p) => p.type === 'hour')!.value);
  const minute = Number(parts.find((p) => p.type === 'minute')!.value);
  return hour * 60 + minute;
}

/** "22:00" → 1320. */
export const parseHhMm = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
};

/** Is a local time inside [from, to)? Windows may wrap midnight (22:00–06:00). */
export function inWindow(minutes: number, from: number, to: number): boolean {
  return from <= to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
}
