/**
 * Errors that mean "the data directory cannot be written just now": a full
 * disk, an I/O error, a read-only or locked database. The same write may work
 * later, so a device's message that needed it is not acknowledged (the device
 * redelivers) instead of being dropped or dead-lettered.
 */
const sqliteCodes = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|NOMEM|PROTOCOL)/;
const fsCodes = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EMFILE', 'ENFILE']);

export function isStorageUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (sqliteCodes.test(code) || fsCodes.has(code));
}

/** Thrown when a message cannot be recorded for now; the broker then withholds its PUBACK. */
export class StorageUnavailableError extends Error {
  readonly code = 'storage_unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}
