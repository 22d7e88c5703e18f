import { inWindow, localMinutes, parseHhMm } from './local-time.ts';
import { unchanged, type Rule, type RuleInput, type RuleResult } from './types.ts';

/**
 * Wellbeing check: no motion, presence, door or bed activity from any of the
 * resident's devices for `hours` → a major alarm. With a daytime window, the
 * alarm is raised only inside it (a quiet night is not a worry), though the
 * silence is counted from the last activity, whenever that was. Activity after
 * the alarm clears it. A resident whose devices never reported activity is not
 * watched (there is nothing to measure).
 */
export interface InactivitySpec {
  hours: number;
  daytime?: { from: string; to: string } | undefined;
  timeZone: string;
}

export interface InactivityState {
  lastActivity: number | null;
  active: boolean;
}

const activityEvents = new Set(['motion', 'presence', 'door_open', 'door_closed', 'bed_exit', 'bed_enter', 'sos', 'fall_cancelled', 'sos_cancelled']);

/** The time of a sign of life in this input, if it is one. */
export function activityAt(input: RuleInput): number | null {
  if (input.kind === 'event') return activityEvents.has(input.event.type) ? input.event.ts : null;
  if (input.kind === 'reading') {
    const r = input.reading;
    if ((r.kind === 'motion' || r.kind === 'presence' || r.kind === 'door_open') && r.value === 1) return r.ts;
    if (r.kind === 'steps' && r.value > 0) return null; // a running count: not a moment of activity
  }
  return null;
}

export function inactivityRule(spec: InactivitySpec): Rule<InactivityState> {
  const limitMs = spec.hours * 3_600_000;
  const window = spec.daytime ? [parseHhMm(spec.daytime.from), parseHhMm(spec.daytime.to)] as const : null;
  return {
    key: 'inactivity:no_activity',
    alarm: 'no_activity',
    readingKinds: new Set(['motion', 'presence', 'door_open']),
    // The last activity to 5 minutes, so motion sensors do not cause a write a minute;
    // after a restart the wellbeing check errs on the early side.
    durable: (state) => JSON.stringify({ lastActivity: state.lastActivity === null ? null : state.lastActivity - (state.lastActivity % 300_000), active: state.active }),
    initial: () => ({ lastActivity: null, active: false }),
    evaluate(state, input, now): RuleResult<InactivityState> | null {
      const at = activityAt(input);
      if (at !== null) {
        const lastActivity = Math.max(at, state.lastActivity ?? 0);
        if (state.active) {
          return { state: { lastActivity, active: false }, intents: [{ action: 'clear', alarm: 'no_activity', reason: `activity at ${new Date(at).toISOString()}` }] };
        }
        return lastActivity === state.lastActivity ? unchanged(state) : { state: { lastActivity, active: false }, intents: [] };
      }
      if (input.kind !== 'tick' || state.active || state.lastActivity === null) return unchanged(state);
      if (now - state.lastActivity < limitMs) return unchanged(state);
      if (window && !inWindow(localMinutes(now, spec.timeZone), window[0], window[1])) return unchanged(state);
      return {
        state: { ...state, active: true },
        intents: [
          {
            action: 'raise',
            alarm: 'no_activity',
            severity: 'major',
            detail: { lastActivity: state.lastActivity, quietHours: Math.round(((now - state.lastActivity) / 3_600_000) * 10) / 10, limitHours: spec.hours },
          },
        ],
      };
    },
    // Raised, or nothing to measure yet: only activity changes anything (and the evaluator asks again then).
    // Else not before the quiet hours are up; past them outside the daytime window, every tick.
    nextTick(state) {
      if (state.active || state.lastActivity === null) return Number.POSITIVE_INFINITY;
      return state.lastActivity + limitMs;
    },
  };
}
