import { Gauge } from 'prom-client';
import { AlarmService } from '../alarms/service.ts';
import { IntentApplier } from '../alarms/apply-intents.ts';
import { RuleEvaluator } from '../rules/evaluator.ts';
import type { DevicesModule } from './devices.ts';
import type { Basics, Closes } from './module.ts';
import type { StorageModule } from './storage.ts';

export interface AlarmCoreModule extends Closes {
  /** The alarm lifecycle and its ladder (alarms/service.ts). */
  alarms: AlarmService;
  /** The rules, run by ingest on each message and by the engine on each tick. */
  evaluator: RuleEvaluator;
}

/**
 * rules → apply intents → alarm service → outbox, in one direction. `onWork`
 * is told after a commit that owes deliveries or deadlines; the notify module
 * (built later, as it needs the broker) answers it.
 */
export async function alarmCoreModule(needs: Basics & { storage: StorageModule; devices: DevicesModule; onWork: () => void; /** Several nodes: this node's name (devices are taken with an epoch when they connect). */ ownership?: { node: string } | undefined }): Promise<AlarmCoreModule> {
  const { storage, devices, bus, clock, log, metrics } = needs;
  const { repos } = storage;
  const alarms = new AlarmService({
    uow: storage.uow,
    alarms: repos.alarms,
    steps: repos.steps,
    outbox: repos.outbox,
    residents: repos.residents,
    targets: { stations: repos.stations, residents: repos.residents, directory: devices.directory, providers: repos.providers },
    bus,
    clock,
    log,
    onWork: needs.onWork,
  });
  const evaluator = new RuleEvaluator({
    devices: devices.directory,
    residentOf: (id) => repos.residents.get(id) ?? null,
    ruleState: repos.ruleState,
    intents: new IntentApplier(alarms),
    clock,
    log,
    ...(needs.ownership ? { ownership: { node: needs.ownership.node, owners: repos.deviceOwners } } : {}),
  });
  await evaluator.load();

  bus.on('alarm.raised', ({ alarm }) => metrics.alarmsRaised.inc({ type: alarm.type, severity: alarm.severity }));
  bus.on('alarm.updated', ({ change }) => {
    if (change === 'notify_failed') metrics.notificationFailures.inc();
  });
  new Gauge({
    name: 'carebell_open_alarms',
    help: 'Alarms not yet resolved, by severity',
    labelNames: ['severity'] as const,
    registers: [metrics.registry],
    async collect() {
      const counts = await repos.alarms.countOpenBySeverity();
      for (const severity of ['critical', 'major', 'minor', 'info']) this.set({ severity }, counts[severity] ?? 0);
    },
  });
  // Closed once no message or tick can run a rule any more: the rule states queued last are written.
  return { alarms, evaluator, close: () => evaluator.flush() };
}
