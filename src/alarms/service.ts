import type { Clock } from '../core/clock.ts';
import { CarebellError, conflict, notFound } from '../core/errors.ts';
import type { EventBus } from '../core/event-bus.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { Tx, UnitOfWork } from '../store/unit-of-work.ts';
import type { ResidentRepository } from '../store/residents.ts';
import { policyById, policyFor, type EscalationPolicy, type TargetSpec } from '../escalation/policies.ts';
import type { EscalationStepRepository } from '../escalation/steps-repository.ts';
import { resolveTargets, type TargetDeps } from '../escalation/targets.ts';
import type { OutboxEvent, OutboxRepository } from './outbox-repository.ts';
import { ALARM_NOTICES, severityRank, transitions, type Alarm, type AlarmNotice, type CallOutcome, type ContactResponse, type Outcome, type Severity, type TimelineKind } from '../core/alarm.ts';
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

/** The repositories of the alarm core, inside one transaction. */
interface Open {
  tx: Tx;
  alarms: AlarmRepository;
  steps: EscalationStepRepository;
  outbox: OutboxRepository;
}

/**
 * The alarm lifecycle: open → acknowledged → resolved. Every change is one
 * transaction holding the alarm, its timeline, its escalation deadlines and
 * the notifications it owes (transactional outbox); events for the live
 * stream go out only after the commit. Nothing is sent from inside a
 * transaction. Every change takes an optional enclosing transaction
 * (`within`): ingest and the rules record an event and the alarm it raises
 * together; the outbox worker records a delivery and what it changes.
 */
export class AlarmService {
  readonly #d: AlarmServiceDeps;

  constructor(deps: AlarmServiceDeps) {
    this.#d = deps;
  }

  /** Runs `fn` in the unit of work (joining `within` when given); effects run after the outermost commit. */
  transaction<T>(fn: (tx: Tx) => Promise<T>, within?: Tx): Promise<T> {
    return this.#d.uow.transaction(fn, within);
  }

  /** The alarm core's repositories inside `tx`. */
  #open(tx: Tx): Open {
    return { tx, alarms: this.#d.alarms.in(tx), steps: this.#d.steps.in(tx), outbox: this.#d.outbox.in(tx) };
  }

  #in<T>(within: Tx | undefined, fn: (o: Open) => Promise<T>): Promise<T> {
    return this.#d.uow.transaction((tx) => fn(this.#open(tx)), within);
  }

  #emit(o: Open, change: TimelineKind | 'raised_new', alarmId: string): void {
    // The alarm as this transaction leaves it, read once its work is done; sent once it commits.
    o.tx.beforeCommit(async () => {
      const alarm = await o.alarms.get(alarmId);
      if (!alarm) return;
      // The other nodes' live streams hear of it with the commit itself (api/live-relay.ts).
      const notice: AlarmNotice = change === 'raised_new' ? { event: 'alarm.raised', id: alarmId } : { event: 'alarm.updated', id: alarmId, change };
      await o.tx.announce?.(ALARM_NOTICES, JSON.stringify(notice));
      o.tx.afterCommit(() => {
        if (change === 'raised_new') this.#d.bus.emit('alarm.raised', { alarm });
        else this.#d.bus.emit('alarm.updated', { alarm, change });
      });
    });
  }

  /** Inside a transaction: tell the live stream about this change once it commits. */
  changed(tx: Tx, alarmId: string, change: TimelineKind): void {
    this.#emit(this.#open(tx), change, alarmId);
  }

  #kick(o: Open): void {
    o.tx.afterCommit(this.#d.onWork);
  }

  /** Owes `event` to the step's targets; a target with no way to reach it is said on the timeline at once. */
  async #notify(o: Open, alarm: Alarm, event: OutboxEvent, step: number, targets: TargetSpec[], now: number): Promise<void> {
    const { deliveries, unreachable } = resolveTargets(this.#d.targets, alarm, targets);
    await o.outbox.enqueue(alarm.id, event, step, deliveries, now);
    for (const who of unreachable) await o.alarms.addTimeline(alarm.id, now, 'notify_failed', 'system', { step, target: who.text, recipient: who.recipient, reason: 'no channel' });
    if (unreachable.length > 0) this.#emit(o, 'notify_failed', alarm.id);
  }

  #enqueueStep(o: Open, alarm: Alarm, policy: EscalationPolicy, step: number, event: OutboxEvent, now: number): Promise<void> {
    return this.#notify(o, alarm, event, step, policy.steps[step]!.targets, now);
  }

  /** Schedules the ladder's later steps (and the first reminder, for a one-step ladder) relative to `from`. */
  async #scheduleLadder(o: Open, alarmId: string, policy: EscalationPolicy, from: number): Promise<void> {
    for (const [i, s] of policy.steps.entries()) if (i > 0) await o.steps.schedule(alarmId, i, 'step', from + s.afterSeconds * 1000);
    if (policy.reminder) {
      // Reminders follow the ladder proper, not a step that waits for the fault to be fixed.
      const last = policy.steps.filter((s) => !s.untilResolved).at(-1)!;
      await o.steps.schedule(alarmId, policy.steps.length, 'reminder', from + (last.afterSeconds + policy.reminder.everySeconds) * 1000);
    }
  }

  /** Raises an alarm, or counts a repeat of the open one for the same subject and type. */
  raise(input: RaiseInput, within?: Tx): Promise<Alarm> {
    return this.#in(within, async (o) => {
      const now = this.#d.clock.now();
      const key = openKey(input.subject, input.type);
      const existing = await o.alarms.findOpen(key);
      if (existing) {
        await o.alarms.repeated(existing.id, now);
        await o.alarms.addTimeline(existing.id, now, 'repeated', input.actor, input.detail);
        if (severityRank[input.severity] > severityRank[existing.severity]) await this.#raiseSeverity(o, existing, input, now);
        this.#emit(o, 'repeated', existing.id);
        return (await o.alarms.get(existing.id))!;
      }
      const resident = input.residentId ? this.#d.residents.get(input.residentId) : undefined;
      const policy = policyFor(input.severity, resident?.livesAlone ?? false, input.type);
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
      await o.alarms.insert(alarm, key);
      await o.alarms.addTimeline(alarm.id, now, 'raised', input.actor, { ...input.detail, policy: policy.id });
      await this.#enqueueStep(o, alarm, policy, 0, 'alarm.raised', now);
      await this.#scheduleLadder(o, alarm.id, policy, now);
      this.#emit(o, 'raised_new', alarm.id);
      this.#kick(o);
      return alarm;
    });
  }

  async #raiseSeverity(o: Open, existing: Alarm, input: RaiseInput, now: number): Promise<void> {
    const resident = existing.residentId ? this.#d.residents.get(existing.residentId) : undefined;
    const policy = policyFor(input.severity, resident?.livesAlone ?? false, existing.type);
    await o.alarms.raiseSeverity(existing.id, input.severity, policy.id, now);
    await o.alarms.addTimeline(existing.id, now, 'severity_raised', input.actor, { from: existing.severity, to: input.severity, policy: policy.id });
    if (existing.state === 'open') {
      // The ladder starts again under the stricter policy, from now.
      await o.steps.cancelFor(existing.id);
      const upgraded = { ...existing, severity: input.severity, policy: policy.id };
      await this.#enqueueStep(o, upgraded, policy, 0, 'alarm.escalated', now);
      await this.#scheduleLadder(o, existing.id, policy, now);
      this.#kick(o);
    }
  }

  async #require(o: Open, id: string, to: 'acknowledged' | 'resolved'): Promise<Alarm> {
    const alarm = await o.alarms.get(id);
    if (!alarm) throw notFound('alarm', id);
    if (!transitions[alarm.state].includes(to)) {
      const by = alarm.state === 'acknowledged' ? ` by ${alarm.acknowledgedBy}` : alarm.state === 'resolved' ? ` by ${alarm.resolvedBy} (${alarm.outcome})` : '';
      throw new CarebellError('conflict', `alarm ${id} is already ${alarm.state}${by}`);
    }
    return alarm;
  }

  /** An alarm that is not resolved yet, for a change that needs one. */
  async #unresolved(o: Open, id: string): Promise<Alarm> {
    const alarm = await o.alarms.get(id);
    if (!alarm) throw notFound('alarm', id);
    if (alarm.state === 'resolved') throw conflict(`alarm ${id} is resolved`);
    return alarm;
  }

  /** A person has it: the ladder stops, pending alerts are withdrawn, and those already told hear so. */
  acknowledge(id: string, actor: string, note?: string, within?: Tx): Promise<Alarm> {
    return this.#in(within, async (o) => {
      const now = this.#d.clock.now();
      const alarm = await this.#require(o, id, 'acknowledged');
      await o.alarms.acknowledge(id, actor, now);
      await o.alarms.addTimeline(id, now, 'acknowledged', actor, note ? { note } : undefined);
      await this.#stopLadder(o, alarm, 'alarm.acknowledged', now, true);
      this.#emit(o, 'acknowledged', id);
      return (await o.alarms.get(id))!;
    });
  }

  resolve(id: string, actor: string, outcome: Outcome, note?: string, kind: TimelineKind = 'resolved', within?: Tx): Promise<Alarm> {
    return this.#in(within, async (o) => {
      const now = this.#d.clock.now();
      const alarm = await this.#require(o, id, 'resolved');
      await o.alarms.resolve(id, actor, outcome, now);
      await o.alarms.addTimeline(id, now, kind, actor, { outcome, ...(note ? { note } : {}) });
      await this.#stopLadder(o, alarm, 'alarm.resolved', now);
      this.#emit(o, kind, id);
      return (await o.alarms.get(id))!;
    });
  }

  /** Someone takes the alarm in hand (or hands it over, or lets go with null); the ladder keeps running until acknowledged. */
  assign(id: string, actor: string, to: string | null, within?: Tx): Promise<Alarm> {
    return this.#in(within, async (o) => {
      const alarm = await this.#unresolved(o, id);
      const now = this.#d.clock.now();
      await o.alarms.assign(id, to, now);
      await o.alarms.addTimeline(id, now, 'assigned', actor, { to, from: alarm.assignedTo });
      this.#emit(o, 'assigned', id);
      return (await o.alarms.get(id))!;
    });
  }

  /**
   * A contact's answer ("going, 20 minutes" / "cannot go"): on the alarm and its
   * timeline for the station to see. It is not an acknowledgement: the ladder
   * keeps running until a staff member acknowledges.
   */
  respond(id: string, actor: string, response: Omit<ContactResponse, 'at' | 'recordedBy'>, within?: Tx): Promise<Alarm> {
    return this.#in(within, async (o) => {
      const alarm = await this.#unresolved(o, id);
      const now = this.#d.clock.now();
      const entry: ContactResponse = { ...response, at: now, recordedBy: actor };
      const others = alarm.responses.filter((r) => r.name !== response.name || r.relation !== response.relation);
      await o.alarms.setResponses(id, [...others, entry], now);
      await o.alarms.addTimeline(id, now, 'responded', actor, { name: response.name, relation: response.relation, going: response.going, etaMinutes: response.etaMinutes });
      this.#emit(o, 'responded', id);
      return (await o.alarms.get(id))!;
    });
  }

  /** A responder (family, doctor, staff) reached the home; the first one is the on-site time. */
  onSite(id: string, actor: string, who: string, within?: Tx): Promise<Alarm> {
    return this.#in(within, async (o) => {
      const alarm = await this.#unresolved(o, id);
      const now = this.#d.clock.now();
      await o.alarms.onSite(id, who, now);
      await o.alarms.addTimeline(id, now, 'on_site', actor, { who, minutesAfterRaised: Math.round((now - alarm.raisedAt) / 60_000) });
      this.#emit(o, 'on_site', id);
      return (await o.alarms.get(id))!;
    });
  }

  /** Staff phoned a contact: the outcome goes on the timeline. */
  logCall(id: string, actor: string, call: { contact: string; phone: string | null; outcome: CallOutcome; note?: string | undefined }, within?: Tx): Promise<Alarm> {
    return this.#in(within, async (o) => {
      if (!(await o.alarms.get(id))) throw notFound('alarm', id);
      await o.alarms.addTimeline(id, this.#d.clock.now(), 'call', actor, { contact: call.contact, phone: call.phone, outcome: call.outcome, ...(call.note ? { note: call.note } : {}) });
      this.#emit(o, 'call', id);
      return (await o.alarms.get(id))!;
    });
  }

  addNote(id: string, actor: string, text: string, within?: Tx): Promise<Alarm> {
    return this.#in(within, async (o) => {
      if (!(await o.alarms.get(id))) throw notFound('alarm', id);
      await o.alarms.addTimeline(id, this.#d.clock.now(), 'note', actor, { note: text });
      this.#emit(o, 'note', id);
      return (await o.alarms.get(id))!;
    });
  }

  /** `acknowledged`: a person has it, but a step that waits for the fault to be fixed (untilResolved) stays. */
  async #stopLadder(o: Open, alarm: Alarm, event: OutboxEvent, now: number, acknowledged = false): Promise<void> {
    const policy = policyById(alarm.policy);
    const keep = acknowledged ? policy.steps.flatMap((s, i) => (s.untilResolved ? [i] : [])) : [];
    await o.steps.cancelFor(alarm.id, keep);
    await o.outbox.cancelAlerts(alarm.id);
    const told = await o.outbox.toldAboutAlarm(alarm.id);
    if (told.length > 0) {
      await o.outbox.enqueue(alarm.id, event, alarm.escalationLevel, told, now);
      this.#kick(o);
    }
  }

  /** The resident cancelled within the window: a false alarm, resolved before the family is called. */
  cancelByResident(subject: string, type: string, reason: string, within?: Tx): Promise<Alarm | undefined> {
    return this.#in(within, async (o) => {
      const open = await o.alarms.findOpen(openKey(subject, type));
      return open && this.resolve(open.id, 'resident', 'false_alarm', reason, 'cancelled_by_resident', o.tx);
    });
  }

  /**
   * The condition ended by itself. Major, minor and info alarms are resolved;
   * a critical alarm stays open until a person resolves it, with a note.
   */
  autoClear(subject: string, type: string, reason: string, within?: Tx): Promise<Alarm | undefined> {
    return this.#in(within, async (o) => {
      const open = await o.alarms.findOpen(openKey(subject, type));
      if (!open) return undefined;
      if (open.severity !== 'critical') return this.resolve(open.id, 'system', 'other', reason, 'auto_cleared', o.tx);
      await o.alarms.addTimeline(open.id, this.#d.clock.now(), 'note', 'system', { note: `condition cleared (${reason}); a critical alarm stays open until a person resolves it` });
      this.#emit(o, 'note', open.id);
      return (await o.alarms.get(open.id))!;
    });
  }

  async noteOnOpen(subject: string, type: string, kind: TimelineKind, detail: Record<string, unknown>, within?: Tx): Promise<void> {
    await this.#in(within, async (o) => {
      const open = await o.alarms.findOpen(openKey(subject, type));
      if (!open) return;
      await o.alarms.addTimeline(open.id, this.#d.clock.now(), kind, 'resident', detail);
      this.#emit(o, kind, open.id);
    });
  }

  /** Inside a transaction: the ladder's step `index` fires now (its deadline passed, or the step before reached nobody). */
  async #escalate(o: Open, alarm: Alarm, policy: EscalationPolicy, index: number, now: number, detail: Record<string, unknown>): Promise<void> {
    await this.#enqueueStep(o, alarm, policy, index, 'alarm.escalated', now);
    await o.alarms.setEscalationLevel(alarm.id, index, now);
    await o.alarms.addTimeline(alarm.id, now, 'escalated', 'system', { level: index, step: policy.steps[index]!.name, ...detail });
    this.#emit(o, 'escalated', alarm.id);
  }

  /**
   * A delivery of ladder step `step` failed. When every delivery of that step
   * meant for a person (a console, a webhook) has failed its first
   * UNREACHED_AFTER_ATTEMPTS attempts and none got through, nobody at that
   * level knows of the alarm: the next step fires now instead of at its
   * deadline. The failed deliveries go on being retried while the alarm is open.
   */
  async stepUnreached(alarmId: string, step: number, within?: Tx): Promise<void> {
    await this.#in(within, async (o) => {
      const alarm = await o.alarms.get(alarmId);
      if (!alarm || alarm.state !== 'open' || alarm.escalationLevel !== step) return;
      const policy = policyById(alarm.policy);
      // A step that waits for a fault to be fixed is about time, not about who could be reached: it keeps its deadline.
      if (!policy.steps[step + 1] || policy.steps[step + 1]!.untilResolved) return;
      const toPeople = (await o.outbox.forAlarm(alarmId)).filter(
        (i) => i.step === step && (i.event === 'alarm.raised' || i.event === 'alarm.escalated') && (i.delivery.channel === 'console' || i.delivery.channel === 'webhook'),
      );
      if (toPeople.length === 0 || !toPeople.every((i) => i.status === 'failed' || (i.status === 'pending' && i.attempts >= UNREACHED_AFTER_ATTEMPTS))) return;
      const next = (await o.steps.pendingFor(alarmId)).find((s) => s.kind === 'step' && s.step === step + 1);
      if (!next) return;
      const now = this.#d.clock.now();
      if (!(await o.steps.done(next.id, now))) return;
      await this.#escalate(o, alarm, policy, step + 1, now, { dueAt: next.dueAt, early: true, unreachedLevel: step });
      this.#kick(o);
    });
  }

  /**
   * Fires every escalation deadline that has passed, oldest first, each in its
   * own transaction (marked done with the notifications it owes), so after a
   * restart overdue steps fire at once, in order, once. A step another run has
   * fired meanwhile is left alone.
   */
  async fireDueSteps(): Promise<number> {
    let fired = 0;
    for (;;) {
      const due = await this.#d.steps.due(this.#d.clock.now(), 100);
      if (due.length === 0) return fired;
      let taken = 0;
      for (const step of due) {
        await this.#in(undefined, async (o) => {
          const now = this.#d.clock.now();
          if (!(await o.steps.done(step.id, now))) return;
          taken++;
          const alarm = await o.alarms.get(step.alarmId);
          if (!alarm || alarm.state === 'resolved') return;
          const policy = policyById(alarm.policy);
          // Acknowledged: only a step that waits for the fault to be fixed still fires.
          if (alarm.state === 'acknowledged' && !(step.kind === 'step' && policy.steps[step.step]?.untilResolved)) return;
          if (step.kind === 'step') {
            if (!policy.steps[step.step]) return;
            await this.#escalate(o, alarm, policy, step.step, now, { dueAt: step.dueAt });
          } else if (policy.reminder) {
            await this.#notify(o, alarm, 'alarm.reminder', step.step, policy.reminder.targets, now);
            await o.alarms.addTimeline(alarm.id, now, 'reminder', 'system', { unacknowledgedSeconds: Math.round((now - alarm.raisedAt) / 1000) });
            // The next reminder counts from now: after downtime, one reminder, not a burst.
            await o.steps.schedule(alarm.id, step.step, 'reminder', now + policy.reminder.everySeconds * 1000);
            this.#emit(o, 'reminder', alarm.id);
          }
          this.#kick(o);
          fired++;
        });
      }
      // None of these was taken here: each was done or cancelled meanwhile, or is being fired by another
      // node right now (PostgreSQL skips a locked step). The next run looks again rather than spinning on them.
      if (taken === 0) return fired;
    }
  }
}
