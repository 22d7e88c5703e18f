import type { Clock } from '../core/clock.ts';
import { CarebellError, conflict, notFound } from '../core/errors.ts';
import type { EventBus } from '../core/event-bus.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { UnitOfWork } from '../store/unit-of-work.ts';
import type { ResidentRepository } from '../store/residents.ts';
import { policyById, policyFor, type EscalationPolicy, type TargetSpec } from '../escalation/policies.ts';
import type { EscalationStepRepository } from '../escalation/steps-repository.ts';
import { resolveTargets, type TargetDeps } from '../escalation/targets.ts';
import type { OutboxEvent, OutboxRepository } from './outbox-repository.ts';
import { severityRank, transitions, type Alarm, type CallOutcome, type ContactResponse, type Outcome, type Severity, type TimelineKind } from '../core/alarm.ts';
import { openKey, type AlarmRepository } from './repository.ts';

/**
 * Attempts after which a step whose every delivery to a person failed counts
 * as having reached nobody: with the outbox's backoff (2 s, 4 s …) about 6 s,
 * so a console that is reloading or reconnecting is not taken for an empty
 * station, while a critical alarm's next level still hears well before its
 * 45–60 s deadline.
 */
export const UNREACHED_AFTER_ATTEMPTS = 3;

export interface AlarmServiceDeps {
  uow: UnitOfWork;
  alarms: AlarmRepository;
  steps: EscalationStepRepository;
  outbox: OutboxRepository;
  residents: ResidentRepository;
  targets: TargetDeps;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  /** Called after a commit that owes notifications or deadlines. */
  onWork: () => void;
}

export interface RaiseInput {
  type: string;
  severity: Severity;
  /** What the alarm is about: a device id, or a resident id for resident-level rules. Dedupe key with the type. */
  subject: string;
  deviceId: string | null;
  residentId: string | null;
  stationId: string | null;
  detail: Record<string, unknown>;
  actor: string;
}

/**
 * The alarm lifecycle: open → acknowledged → resolved. Every change is one
 * SQLite transaction holding the alarm, its timeline, its escalation deadlines
 * and the notifications it owes (transactional outbox); events for the live
 * stream go out only after the commit. Nothing is sent from inside a transaction.
 */
export class AlarmService {
  readonly #d: AlarmServiceDeps;

  constructor(deps: AlarmServiceDeps) {
    this.#d = deps;
  }

  /** Runs `fn` in the unit of work (joining an enclosing transaction); effects run after the outermost commit. */
  transaction<T>(fn: () => T): T {
    return this.#d.uow.transaction(fn);
  }

  #emit(change: TimelineKind | 'raised_new', alarmId: string): void {
    this.#d.uow.afterCommit(() => {
      const alarm = this.#d.alarms.get(alarmId);
      if (!alarm) return;
      if (change === 'raised_new') this.#d.bus.emit('alarm.raised', { alarm });
      else this.#d.bus.emit('alarm.updated', { alarm, change });
    });
  }

  /** Inside a transaction: tell the live stream about this change once it commits. */
  changed(alarmId: string, change: TimelineKind): void {
    this.#emit(change, alarmId);
  }

  #kick(): void {
    this.#d.uow.afterCommit(this.#d.onWork);
  }

  /** Owes `event` to the step's targets; a target with no way to reach it is said on the timeline at once. */
  #notify(alarm: Alarm, event: OutboxEvent, step: number, targets: TargetSpec[], now: number): void {
    const { deliveries, unreachable } = resolveTargets(this.#d.targets, alarm, targets);
    this.#d.outbox.enqueue(alarm.id, event, step, deliveries, now);
    for (const who of unreachable) this.#d.alarms.addTimeline(alarm.id, now, 'notify_failed', 'system', { step, target: who.text, recipient: who.recipient, reason: 'no channel' });
    if (unreachable.length > 0) this.#emit('notify_failed', alarm.id);
  }

  #enqueueStep(alarm: Alarm, policy: EscalationPolicy, step: number, event: OutboxEvent, now: number): void {
    this.#notify(alarm, event, step, policy.steps[step]!.targets, now);
  }

  /** Schedules the ladder's later steps (and the first reminder, for a one-step ladder) relative to `from`. */
  #scheduleLadder(alarmId: string, policy: EscalationPolicy, from: number): void {
    policy.steps.forEach((s, i) => {
      if (i > 0) this.#d.steps.schedule(alarmId, i, 'step', from + s.afterSeconds * 1000);
    });
    if (policy.reminder) {
      const last = policy.steps[policy.steps.length - 1]!;
      this.#d.steps.schedule(alarmId, policy.steps.length, 'reminder', from + (last.afterSeconds + policy.reminder.everySeconds) * 1000);
    }
  }

  /** Raises an alarm, or counts a repeat of the open one for the same subject and type. */
  raise(input: RaiseInput): Alarm {
    const { alarms, clock } = this.#d;
    return this.transaction(() => {
      const now = clock.now();
      const key = openKey(input.subject, input.type);
      const existing = alarms.findOpen(key);
      if (existing) {
        alarms.repeated(existing.id, now);
        alarms.addTimeline(existing.id, now, 'repeated', input.actor, input.detail);
        if (severityRank[input.severity] > severityRank[existing.severity]) this.#raiseSeverity(existing, input, now);
        this.#emit('repeated', existing.id);
        return alarms.get(existing.id)!;
      }
      const resident = input.residentId ? this.#d.residents.get(input.residentId) : undefined;
      const policy = policyFor(input.severity, resident?.livesAlone ?? false);
      const alarm: Alarm = {
        id: newId('alm'),
        type: input.type,
        severity: input.severity,
        state: 'open',
        residentId: input.residentId,
        deviceId: input.deviceId,
        stationId: input.stationId ?? resident?.stationId ?? null,
        raisedAt: now,
        updatedAt: now,
        count: 1,
        escalationLevel: 0,
        policy: policy.id,
        detail: input.detail,
        acknowledgedAt: null,
        acknowledgedBy: null,
        resolvedAt: null,
        resolvedBy: null,
        outcome: null,
        assignedTo: null,
        responses: [],
        onSiteAt: null,
        onSiteBy: null,
      };
      alarms.insert(alarm, key);
      alarms.addTimeline(alarm.id, now, 'raised', input.actor, { ...input.detail, policy: policy.id });
      this.#enqueueStep(alarm, policy, 0, 'alarm.raised', now);
      this.#scheduleLadder(alarm.id, policy, now);
      this.#emit('raised_new', alarm.id);
      this.#kick();
      return alarm;
    });
  }

  #raiseSeverity(existing: Alarm, input: RaiseInput, now: number): void {
    const resident = existing.residentId ? this.#d.residents.get(existing.residentId) : undefined;
    const policy = policyFor(input.severity, resident?.livesAlone ?? false);
    this.#d.alarms.raiseSeverity(existing.id, input.severity, policy.id, now);
    this.#d.alarms.addTimeline(existing.id, now, 'severity_raised', input.actor, { from: existing.severity, to: input.severity, policy: policy.id });
    if (existing.state === 'open') {
      // The ladder starts again under the stricter policy, from now.
      this.#d.steps.cancelFor(existing.id);
      const upgraded = { ...existing, severity: input.severity, policy: policy.id };
      this.#enqueueStep(upgraded, policy, 0, 'alarm.escalated', now);
      this.#scheduleLadder(existing.id, policy, now);
      this.#kick();
    }
  }

  #require(id: string, to: 'acknowledged' | 'resolved'): Alarm {
    const alarm = this.#d.alarms.get(id);
    if (!alarm) throw notFound('alarm', id);
    if (!transitions[alarm.state].includes(to)) {
      const by = alarm.state === 'acknowledged' ? ` by ${alarm.acknowledgedBy}` : alarm.state === 'resolved' ? ` by ${alarm.resolvedBy} (${alarm.outcome})` : '';
      throw new CarebellError('conflict', `alarm ${id} is already ${alarm.state}${by}`);
    }
    return alarm;
  }

  /** A person has it: the ladder stops, pending alerts are withdrawn, and those already told hear so. */
  acknowledge(id: string, actor: string, note?: string): Alarm {
    return this.transaction(() => {
      const now = this.#d.clock.now();
      const alarm = this.#require(id, 'acknowledged');
      this.#d.alarms.acknowledge(id, actor, now);
      this.#d.alarms.addTimeline(id, now, 'acknowledged', actor, note ? { note } : undefined);
      this.#stopLadder(alarm, 'alarm.acknowledged', now);
      this.#emit('acknowledged', id);
      return this.#d.alarms.get(id)!;
    });
  }

  resolve(id: string, actor: string, outcome: Outcome, note?: string, kind: TimelineKind = 'resolved'): Alarm {
    return this.transaction(() => {
      const now = this.#d.clock.now();
      const alarm = this.#require(id, 'resolved');
      this.#d.alarms.resolve(id, actor, outcome, now);
      this.#d.alarms.addTimeline(id, now, kind, actor, { outcome, ...(note ? { note } : {}) });
      this.#stopLadder(alarm, 'alarm.resolved', now);
      this.#emit(kind, id);
      return this.#d.alarms.get(id)!;
    });
  }

  /** Someone takes the alarm in hand (or hands it over, or lets go with null); the ladder keeps running until acknowledged. */
  assign(id: string, actor: string, to: string | null): Alarm {
    return this.transaction(() => {
      const alarm = this.#d.alarms.get(id);
      if (!alarm) throw notFound('alarm', id);
      if (alarm.state === 'resolved') throw conflict(`alarm ${id} is resolved`);
      const now = this.#d.clock.now();
      this.#d.alarms.assign(id, to, now);
      this.#d.alarms.addTimeline(id, now, 'assigned', actor, { to, from: alarm.assignedTo });
      this.#emit('assigned', id);
      return this.#d.alarms.get(id)!;
    });
  }

  /**
   * A contact's answer ("going, 20 minutes" / "cannot go"): on the alarm and its
   * timeline for the station to see. It is not an acknowledgement: the ladder
   * keeps running until a staff member acknowledges.
   */
  respond(id: string, actor: string, response: Omit<ContactResponse, 'at' | 'recordedBy'>): Alarm {
    return this.transaction(() => {
      const alarm = this.#d.alarms.get(id);
      if (!alarm) throw notFound('alarm', id);
      if (alarm.state === 'resolved') throw conflict(`alarm ${id} is resolved`);
      const now = this.#d.clock.now();
      const entry: ContactResponse = { ...response, at: now, recordedBy: actor };
      const others = alarm.responses.filter((r) => r.name !== response.name || r.relation !== response.relation);
      this.#d.alarms.setResponses(id, [...others, entry], now);
      this.#d.alarms.addTimeline(id, now, 'responded', actor, { name: response.name, relation: response.relation, going: response.going, etaMinutes: response.etaMinutes });
      this.#emit('responded', id);
      return this.#d.alarms.get(id)!;
    });
  }

  /** A responder (family, doctor, staff) reached the home; the first one is the on-site time. */
  onSite(id: string, actor: string, who: string): Alarm {
    return this.transaction(() => {
      const alarm = this.#d.alarms.get(id);
      if (!alarm) throw notFound('alarm', id);
      if (alarm.state === 'resolved') throw conflict(`alarm ${id} is resolved`);
      const now = this.#d.clock.now();
      this.#d.alarms.onSite(id, who, now);
      this.#d.alarms.addTimeline(id, now, 'on_site', actor, { who, minutesAfterRaised: Math.round((now - alarm.raisedAt) / 60_000) });
      this.#emit('on_site', id);
      return this.#d.alarms.get(id)!;
    });
  }

  /** Staff phoned a contact: the outcome goes on the timeline. */
  logCall(id: string, actor: string, call: { contact: string; phone: string | null; outcome: CallOutcome; note?: string | undefined }): Alarm {
    return this.transaction(() => {
      if (!this.#d.alarms.get(id)) throw notFound('alarm', id);
      this.#d.alarms.addTimeline(id, this.#d.clock.now(), 'call', actor, { contact: call.contact, phone: call.phone, outcome: call.outcome, ...(call.note ? { note: call.note } : {}) });
      this.#emit('call', id);
      return this.#d.alarms.get(id)!;
    });
  }

  addNote(id: string, actor: string, text: string): Alarm {
    return this.transaction(() => {
      if (!this.#d.alarms.get(id)) throw notFound('alarm', id);
      this.#d.alarms.addTimeline(id, this.#d.clock.now(), 'note', actor, { note: text });
      this.#emit('note', id);
      return this.#d.alarms.get(id)!;
    });
  }

  #stopLadder(alarm: Alarm, event: OutboxEvent, now: number): void {
    this.#d.steps.cancelFor(alarm.id);
    this.#d.outbox.cancelAlerts(alarm.id);
    const told = this.#d.outbox.toldAboutAlarm(alarm.id);
    if (told.length > 0) {
      this.#d.outbox.enqueue(alarm.id, event, alarm.escalationLevel, told, now);
      this.#kick();
    }
  }

  /** The resident cancelled within the window: a false alarm, resolved before the family is called. */
  cancelByResident(subject: string, type: string, reason: string): Alarm | undefined {
    const open = this.#d.alarms.findOpen(openKey(subject, type));
    if (!open) return undefined;
    return this.resolve(open.id, 'resident', 'false_alarm', reason, 'cancelled_by_resident');
  }

  /**
   * The condition ended by itself. Major, minor and info alarms are resolved;
   * a critical alarm stays open until a person resolves it, with a note.
   */
  autoClear(subject: string, type: string, reason: string): Alarm | undefined {
    const open = this.#d.alarms.findOpen(openKey(subject, type));
    if (!open) return undefined;
    if (open.severity === 'critical') {
      return this.transaction(() => {
        this.#d.alarms.addTimeline(open.id, this.#d.clock.now(), 'note', 'system', { note: `condition cleared (${reason}); a critical alarm stays open until a person resolves it` });
        this.#emit('note', open.id);
        return this.#d.alarms.get(open.id)!;
      });
    }
    return this.resolve(open.id, 'system', 'other', reason, 'auto_cleared');
  }

  noteOnOpen(subject: string, type: string, kind: TimelineKind, detail: Record<string, unknown>): void {
    const open = this.#d.alarms.findOpen(openKey(subject, type));
    if (!open) return;
    this.transaction(() => {
      this.#d.alarms.addTimeline(open.id, this.#d.clock.now(), kind, 'resident', detail);
      this.#emit(kind, open.id);
    });
  }

  /** Inside a transaction: the ladder's step `index` fires now (its deadline passed, or the step before reached nobody). */
  #escalate(alarm: Alarm, policy: EscalationPolicy, index: number, now: number, detail: Record<string, unknown>): void {
    this.#enqueueStep(alarm, policy, index, 'alarm.escalated', now);
    this.#d.alarms.setEscalationLevel(alarm.id, index, now);
    this.#d.alarms.addTimeline(alarm.id, now, 'escalated', 'system', { level: index, step: policy.steps[index]!.name, ...detail });
    this.#emit('escalated', alarm.id);
  }

  /**
   * A delivery of ladder step `step` failed. When every delivery of that step
   * meant for a person (a console, a webhook) has failed its first
   * UNREACHED_AFTER_ATTEMPTS attempts and none got through, nobody at that
   * level knows of the alarm: the next step fires now instead of at its
   * deadline. The failed deliveries go on being retried while the alarm is open.
   */
  stepUnreached(alarmId: string, step: number): void {
    this.transaction(() => {
      const alarm = this.#d.alarms.get(alarmId);
      if (!alarm || alarm.state !== 'open' || alarm.escalationLevel !== step) return;
      const policy = policyById(alarm.policy);
      if (!policy.steps[step + 1]) return;
      const toPeople = this.#d.outbox
        .forAlarm(alarmId)
        .filter((i) => i.step === step && (i.event === 'alarm.raised' || i.event === 'alarm.escalated') && (i.delivery.channel === 'console' || i.delivery.channel === 'webhook'));
      if (toPeople.length === 0 || !toPeople.every((i) => i.status === 'failed' || (i.status === 'pending' && i.attempts >= UNREACHED_AFTER_ATTEMPTS))) return;
      const next = this.#d.steps.pendingFor(alarmId).find((s) => s.kind === 'step' && s.step === step + 1);
      if (!next) return;
      const now = this.#d.clock.now();
      this.#d.steps.done(next.id, now);
      this.#escalate(alarm, policy, step + 1, now, { dueAt: next.dueAt, early: true, unreachedLevel: step });
      this.#kick();
    });
  }

  /**
   * Fires every escalation deadline that has passed, oldest first, each in its
   * own transaction (marked done with the notifications it owes), so after a
   * restart overdue steps fire at once, in order, once.
   */
  fireDueSteps(): number {
    let fired = 0;
    for (;;) {
      const due = this.#d.steps.due(this.#d.clock.now(), 100);
      if (due.length === 0) return fired;
      for (const step of due) {
        this.transaction(() => {
          const now = this.#d.clock.now();
          const alarm = this.#d.alarms.get(step.alarmId);
          this.#d.steps.done(step.id, now);
          if (!alarm || alarm.state !== 'open') return;
          const policy = policyById(alarm.policy);
          if (step.kind === 'step') {
            if (!policy.steps[step.step]) return;
            this.#escalate(alarm, policy, step.step, now, { dueAt: step.dueAt });
          } else if (policy.reminder) {
            this.#notify(alarm, 'alarm.reminder', step.step, policy.reminder.targets, now);
            this.#d.alarms.addTimeline(alarm.id, now, 'reminder', 'system', { unacknowledgedSeconds: Math.round((now - alarm.raisedAt) / 1000) });
            // The next reminder counts from now: after downtime, one reminder, not a burst.
            this.#d.steps.schedule(alarm.id, step.step, 'reminder', now + policy.reminder.everySeconds * 1000);
            this.#emit('reminder', alarm.id);
          }
          this.#kick();
          fired++;
        });
      }
    }
  }
}
