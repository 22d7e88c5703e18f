import type { Config } from '../config/config.ts';
import type { DeviceEvent } from '../core/model.ts';
import type { Tx } from '../core/tx.ts';
import { VisitService } from '../care/visits.ts';
import { ServiceRequestService } from '../care/service-requests.ts';
import { DeviceTestService } from '../care/device-tests.ts';
import type { ProfileRegistry } from '../profiles/registry.ts';
import type { Basics } from './module.ts';
import type { StorageModule } from './storage.ts';

export interface CareModule {
  /** Visits to those at risk (care/visits.ts). */
  visits: VisitService;
  /** Service requests: from the service button, the family or staff (care/service-requests.ts). */
  serviceRequests: ServiceRequestService;
  /** Button tests and those overdue (care/device-tests.ts). */
  deviceTests: DeviceTestService;
  /** Ingest's care step: inside an event's transaction, a service press becomes a request. */
  onEvent(device: { id: string; residentId: string | null }, event: DeviceEvent, tx: Tx): Promise<void>;
}

/** Alarms that ask for someone to go and see the resident (a visit task), besides the alarm itself. */
export const WELLBEING_ALARMS: ReadonlySet<string> = new Set(['no_activity']);

/** The care programmes the policies ask for besides alarms: visits, service requests, device tests. */
export function careModule(needs: Basics & { config: Config; storage: StorageModule; profiles: ProfileRegistry }): CareModule {
  const { config, storage, profiles, bus, clock } = needs;
  const { repos } = storage;
  const visits = new VisitService({ visits: repos.visits, residents: repos.residents, stations: repos.stations, clock, transaction: (fn) => storage.uow.transaction(fn) });
  // A wellbeing check from the rules: no activity asks for a home visit today, besides the alarm.
  bus.on('alarm.raised', ({ alarm }) => {
    if (!WELLBEING_ALARMS.has(alarm.type) || alarm.residentId === null) return;
    visits.wellbeingCheck(alarm.residentId, alarm.id).catch((err: unknown) => needs.log.error({ err, alarmId: alarm.id }, 'could not open a wellbeing visit task'));
  });
  const serviceRequests = new ServiceRequestService({ requests: repos.serviceRequests, residents: repos.residents, providers: repos.providers, clock, bus });
  const deviceTests = new DeviceTestService({ tests: repos.deviceTests, devices: repos.devices, residents: repos.residents, profiles, clock, policyDays: config.deviceTestDays });
  return {
    visits,
    serviceRequests,
    deviceTests,
    onEvent: (device, event, tx) => (event.type === 'service' ? serviceRequests.fromDevice(device, event, tx) : Promise.resolve()),
  };
}
