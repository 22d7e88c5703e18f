import { DeviceDirectory } from '../devices/directory.ts';
import type { ProfileRegistry } from '../profiles/registry.ts';
import type { Basics, Closes } from './module.ts';
import type { StorageModule } from './storage.ts';

export interface DevicesModule extends Closes {
  directory: DeviceDirectory;
}

/**
 * The registry of devices in service, in memory. Live state (online, last
 * seen, battery) is written once a second in batches; no timer may throw: a
 * failed write (a full disk) is reported and tried again.
 */
export function devicesModule(needs: Basics & { storage: StorageModule; profiles: ProfileRegistry }): DevicesModule {
  const { storage, profiles, bus, clock, log, metrics } = needs;
  const directory = new DeviceDirectory({ devices: storage.repos.devices, residents: storage.repos.residents, profiles, bus, clock });
  directory.load();
  const timer = setInterval(() => {
    try {
      directory.persist();
    } catch (err) {
      if (storage.health.failed(err)) metrics.storageWriteFailures.inc();
      else log.error({ err }, 'could not save device state');
    }
  }, 1_000);
  timer.unref();
  return {
    directory,
    close() {
      clearInterval(timer);
      try {
        directory.persist();
      } catch (err) {
        log.error({ err }, 'device state not saved at shutdown (it is rebuilt as devices reconnect)');
      }
    },
  };
}
