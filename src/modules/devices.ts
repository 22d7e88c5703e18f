import { DeviceDirectory } from '../devices/directory.ts';
import type { ProfileRegistry } from '../profiles/registry.ts';
import type { Basics, Closes } from './module.ts';
import type { StorageModule } from './storage.ts';

/** Devices whose live state is written in one transaction. */
const PERSIST_SLICE = 100;

export interface DevicesModule extends Closes {
  directory: DeviceDirectory;
}

/**
 * The registry of devices in service, in memory. Live state (online, last
 * seen, battery) is written once a second in batches; no timer may throw: a
 * failed write (a full disk) is reported and tried again.
 */
export async function devicesModule(needs: Basics & { storage: StorageModule; profiles: ProfileRegistry; /** Several nodes: this node's name. */ node?: string | undefined }): Promise<DevicesModule> {
  const { storage, profiles, bus, clock, log, metrics } = needs;
  const directory = new DeviceDirectory({ devices: storage.repos.devices, residents: storage.repos.residents, profiles, bus, clock });
  await directory.load(needs.node);
  // In slices of 100 devices, each its own short transaction with the event loop free between them:
  // a thousand devices' state is never one long write that an SOS would wait behind.
  let saving: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (saving) return;
    saving = (async () => {
      try {
        const until = directory.unsaved;
        for (let written = 0; written < until && directory.unsaved > 0; ) {
          written += await directory.persist(PERSIST_SLICE);
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      } catch (err) {
        if (storage.health.failed(err)) metrics.storageWriteFailures.inc();
        else log.error({ err }, 'could not save device state');
      } finally {
        saving = undefined;
      }
    })();
  }, 1_000);
  timer.unref();
  return {
    directory,
    async close() {
      clearInterval(timer);
      await saving;
      try {
        await directory.persist();
      } catch (err) {
        log.error({ err }, 'device state not saved at shutdown (it is rebuilt as devices reconnect)');
      }
    },
  };
}
