import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { DeviceContext, DeviceEvent, Reading } from '../core/model.ts';
import type { AlarmService } from '../alarms/service.ts';
import type { DeviceDirectory } from '../ingest/device-directory.ts';
import type { CompiledProfile } from '../profiles/registry.ts';
import type { Db } from '../store/database.ts';
import { eventRule } from './event-rule.ts';
import { silenceRule } from './silence-rule.ts';
import { thresholdRule } from './threshold-rule.ts';
import type { AlarmIntent, Rule, RuleInput } from './types.ts';
import { scoredParameters, vitalsScoreRule } from './vitals-score-rule.ts';

/** The rules of one profile, indexed by what wakes them. */
interface ProfileRules {
  byReading: Map<string, Rule[]>;
  byEvent: Rule[];
  ticking: Rule[];
}

/** Builds a profile's default alarm rules (data in its JSON file) into rule instances. */
export function rulesForProfile(profile: CompiledProfile): ProfileRules {
  const out: ProfileRules = { byReading: new Map(), byEvent: [], ticking: [] };
  const onReading = (kind: string, rule: Rule) => out.byReading.set(kind, [...(out.byReading.get(kind) ?? []), rule]);
  for (const spec of profile.profile.alarmRules) {
    switch (spec.kind) {
      case 'event':
        out.byEvent.push(eventRule(spec) as Rule);
        break;
      case 'threshold':
        onReading(spec.reading, thresholdRule(spec) as Rule);
        break;
      case 'silence':
        out.ticking.push(silenceRule({ heartbeatSeconds: profile.profile.heartbeatSeconds, heartbeats: spec.heartbeats, alarm: spec.alarm, severity: spec.severity }) as Rule);
        break;
      case 'vitals_score': {
        const rule = vitalsScoreRule({ alarm: spec.alarm }) as Rule;
        for (const kind of scoredParameters) onReading(kind, rule);
        break;
      }
    }
  }
  return out;
}

/** What of a rule's state must survive a restart; the rest is rebuilt from new input. */
const durablePart = (rule: Rule, state: unknown): unknown =>
  rule.key.startsWith('vitals_score:') ? { level: (state as { level: unknown }).level } : state;

export interface EvaluatorDeps {
  db: Db;
  directory: DeviceDirectory;
  service: AlarmService;
  clock: Clock;
  log: Logger;
}

/**
 * Runs each device's rules on its readings, events and the passing of time,
 * keeps their state (persisted when its durable part changes, in the same
 * transaction as the alarm change it causes) and turns intents into alarms.
 */
export class RuleEvaluator {
  readonly #d: EvaluatorDeps;
  readonly #rules = new Map<string, ProfileRules>();
  readonly #state = new Map<string, unknown>();
  readonly #persisted = new Map<string, string>();
  readonly #save;
  evaluations = 0;

  constructor(deps: EvaluatorDeps) {
    this.#d = deps;
    this.#save = deps.db.prepare('INSERT OR REPLACE INTO rule_state (subject, rule, state, updated_at) VALUES (?, ?, ?, ?)');
  }

  /** Loads persisted rule state. */
  load(): void {
    const rows = this.#d.db.prepare('SELECT subject, rule, state FROM rule_state').all() as Array<{ subject: string; rule: string; state: string }>;
    for (const r of rows) {
      const key = `${r.subject}\u0000${r.rule}`;
      this.#persisted.set(key, r.state);
      this.#state.set(key, JSON.parse(r.state));
    }
  }

  #rulesOf(profile: CompiledProfile): ProfileRules {
    let rules = this.#rules.get(profile.id);
    if (!rules) this.#rules.set(profile.id, (rules = rulesForProfile(profile)));
    return rules;
  }

  onReadings(device: DeviceContext, readings: Reading[]): void {
    const known = this.#d.directory.get(device.id);
    if (!known) return;
    const rules = this.#rulesOf(known.profile);
    if (rules.byReading.size === 0) return;
    for (const reading of readings) {
      const matching = rules.byReading.get(reading.kind);
      if (matching) for (const rule of matching) this.#run(device, rule, { kind: 'reading', reading });
    }
  }

  /** Throws if an alarm could not be recorded, so ingest withholds the PUBACK and the device redelivers. */
  onEvent(device: DeviceContext, event: DeviceEvent): void {
    const known = this.#d.directory.get(device.id);
    if (!known) return;
    for (const rule of this.#rulesOf(known.profile).byEvent) this.#run(device, rule, { kind: 'event', event }, true);
  }

  /** Time-driven rules (silence) for every device. */
  tick(): void {
    for (const device of this.#d.directory.all()) {
      const rules = this.#rulesOf(device.profile).ticking;
      for (const rule of rules) this.#run(device.context, rule, { kind: 'tick', lastSeen: device.lastSeen });
    }
  }

  #run(device: DeviceContext, rule: Rule, input: RuleInput, rethrow = false): void {
    const key = `${device.id}\u0000${rule.key}`;
    const before = this.#state.has(key) ? this.#state.get(key) : rule.initial();
    const state = { ...(rule.initial() as object), ...(before as object) };
    this.evaluations++;
    let result;
    try {
      result = rule.evaluate(state, input, this.#d.clock.now());
    } catch (err) {
      this.#d.log.error({ err, deviceId: device.id, rule: rule.key }, 'rule failed');
      return;
    }
    const durable = JSON.stringify(durablePart(rule, result.state));
    const persist = durable !== this.#persisted.get(key);
    if (result.intents.length === 0 && !persist) {
      this.#state.set(key, result.state);
      return;
    }
    try {
      this.#d.service.transaction(() => {
        for (const intent of result.intents) this.#apply(device, rule, intent);
        if (persist) this.#save.run(device.id, rule.key, durable, this.#d.clock.now());
      });
      this.#state.set(key, result.state);
      if (persist) this.#persisted.set(key, durable);
    } catch (err) {
      // The state stays as it was, so the next input tries again.
      this.#d.log.error({ err, deviceId: device.id, rule: rule.key }, 'could not record the alarm change of a rule');
      if (rethrow) throw err;
    }
  }

  #apply(device: DeviceContext, rule: Rule, intent: AlarmIntent): void {
    const { service } = this.#d;
    switch (intent.action) {
      case 'raise':
        service.raise({
          type: intent.alarm,
          severity: intent.severity,
          subject: device.id,
          deviceId: device.id,
          residentId: device.residentId,
          stationId: device.stationId,
          detail: intent.detail,
          actor: `rule:${rule.key}`,
        });
        return;
      case 'clear':
        service.autoClear(device.id, intent.alarm, intent.reason);
        return;
      case 'cancel':
        service.cancelByResident(device.id, intent.alarm, intent.reason);
        return;
      case 'note':
        service.noteOnOpen(device.id, intent.alarm, intent.kind, intent.detail);
        return;
    }
  }
}
