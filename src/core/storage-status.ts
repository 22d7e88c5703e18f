/** What the data directory can take now. */
export interface StorageStatus {
  /** Writes succeed. False after a write failed for lack of space or an I/O error, until a probe write succeeds. */
  writable: boolean;
  /** Free space under the limit: telemetry is shed so events and alarms keep the room that is left. */
  lowSpace: boolean;
  freeBytes: number | null;
  totalBytes: number | null;
  /** Why it is not writable (the last storage error). */
  reason: string | null;
  /** Since when (epoch ms) it is not writable, or low on space. */
  since: number | null;
  path: string;
}

