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
  const saver = saveEverySecond(directory, (err) => {
    if (storage.health.failed(err)) metrics.storageWriteFailures.inc();
    else log.error({ err }, 'could not save device state');
  });
  return {
    directory,
    async close() {
      await saver.stop();
      try {
        await directory.persist();
      } catch (err) {
        log.error({ err }, 'device state not saved at shutdown (it is rebuilt as devices reconnect)');
      }
    },
  };
}

/**
 * Writes the directory's changed live state every `intervalMs`, in slices of
 * 100 devices, each its own short transaction with the event loop free
 * between them: a thousand devices' state is never one long write that an
 * SOS would wait behind. One round at a time; a failed write is reported and
 * its devices stay to be written at the next round.
 */
export function saveEverySecond(directory: Pick<DeviceDirectory, 'unsaved' | 'persist'>, onError: (err: unknown) => void, intervalMs = 1_000): { stop(): Promise<void> } {
  let saving: Promise<void> | undefined;
  const timer = setInterval(() => {
    // Nothing to write: no round. (A round that finished without awaiting anything would have cleared
    // `saving` before it was even set, and kept every later round out.)
    if (saving || directory.unsaved === 0) return;
    const round = (async () => {
      try {
        const until = directory.unsaved;
        for (let written = 0; written < until && directory.unsaved > 0; ) {
          written += await directory.persist(PERSIST_SLICE);
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      } catch (err) {
        onError(err);
      }
    })();
    saving = round;
    void round.finally(() => {
      if (saving === round) saving = undefined;
    });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await saving;
    },
  };
}
