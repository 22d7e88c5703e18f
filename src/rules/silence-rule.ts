import type { Severity } from '../core/alarm.ts';
import { unchanged, type Rule, type RuleResult } from './types.ts';

/**
 * No message from a device for `heartbeats` × its profile's heartbeat →
 * `device_offline`; clears by itself when the device is heard again.
 * A device never heard since onboarding is a provisioning matter, not an alarm.
 * Silence is counted from the gateway's start when that is later than the
 * device's last message: a gateway that was down (killed, upgraded) gives its
 * devices the same three heartbeats to reconnect, instead of raising an alarm
 * for every one at once. An alarm already raised clears only when the device
 * is heard again.
 */
export interface SilenceSpec {
  heartbeatSeconds: number;
  heartbeats: number;
  alarm: string;
  severity: Severity;
}

export interface SilenceState {
  active: boolean;
}

export function silenceRule(spec: SilenceSpec): Rule<SilenceState> {
  const limitMs = spec.heartbeatSeconds * spec.heartbeats * 1000;
  return {
    key: `silence:${spec.alarm}`,
    alarm: spec.alarm,
    initial: () => ({ active: false }),
    evaluate(state, input, now): RuleResult<SilenceState> | null {
      if (input.kind !== 'tick' || input.lastSeen === null) return unchanged(state);
      const silentMs = now - input.lastSeen;
      const unheardMs = now - Math.max(input.lastSeen, input.listeningSince ?? Number.NEGATIVE_INFINITY);
      if (!state.active && unheardMs >= limitMs) {
        return {
          state: { active: true },
          intents: [{ action: 'raise', alarm: spec.alarm, severity: spec.severity, detail: { lastSeen: input.lastSeen, silentSeconds: Math.round(silentMs / 1000), limitSeconds: limitMs / 1000 } }],
        };
      }
      if (state.active && silentMs < limitMs) {
        return { state: { active: false }, intents: [{ action: 'clear', alarm: spec.alarm, reason: `device heard again at ${new Date(input.lastSeen).toISOString()}` }] };
      }
      return unchanged(state);
    },
    // Raised: every tick looks for the device heard again. Else the silence cannot reach its limit
    // before the last word (or the gateway's start) plus the limit; a device never heard has its
    // first word still to come, so no sooner than the limit from now. Words sent meanwhile only push it later.
    nextTick(state, input, now) {
      if (state.active) return Number.NEGATIVE_INFINITY;
      if (input.lastSeen === null) return now + limitMs;
      return Math.max(input.lastSeen, input.listeningSince ?? Number.NEGATIVE_INFINITY) + limitMs;
    },
  };
}
