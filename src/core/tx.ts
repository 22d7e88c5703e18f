/**
 * An open database transaction, as the layers above the store pass it along
 * (rules, ingest, the alarm service): what to do once it commits, and the
 * store's own handle on it, opaque here (store/unit-of-work.ts makes them;
 * a repository works inside one with `repo.in(tx)`).
 */
export interface Tx {
  /** Runs `effect` after the outermost transaction commits; dropped if it rolls back. */
  afterCommit(effect: () => void): void;
  /** Runs `hook` inside the transaction once its work is done, just before it commits (e.g. to read what it wrote). */
  beforeCommit(hook: () => Promise<void>): void;
  /**
   * Tells the other nodes sharing the database, as part of this transaction:
   * delivered when it commits, never if it rolls back (PostgreSQL NOTIFY). On
   * the embedded database there is no other node: nothing is sent.
   */
  announce?(channel: string, payload: string): Promise<void>;
  readonly handle: unknown;
}
