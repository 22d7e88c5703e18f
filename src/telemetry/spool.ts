import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TelemetryPoint } from './point.ts';

/**
 * A directory of batch files holding points that could not be written to a
 * remote server yet. Each batch is one file, written to a temp name and renamed
 * so a crash never leaves half a batch; files are replayed in name order and
 * removed only after the server accepted them. The list of files is kept in
 * memory (read from the directory once, at start): an outage under load makes
 * thousands of small batches, and the replay takes many of them at a time.
 */
export class DiskSpool {
  readonly dir: string;
  #next: number;
  #points = 0;
  /** Batch files in replay order, with their point counts; `#head` is the first not yet removed. */
  #files: Array<{ name: string; points: number }> = [];
  #head = 0;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) rmSync(join(dir, f));
    const files = readdirSync(this.dir)
      .filter((f) => /^\d{12}\.jsonl$/.test(f))
      .sort();
    this.#next = files.length ? Number(files[files.length - 1]!.slice(0, -6)) + 1 : 1;
    for (const f of files) {
      const points = this.#countLines(f);
      this.#files.push({ name: f, points });
      this.#points += points;
    }
  }

  append(points: TelemetryPoint[]): void {
    if (points.length === 0) return;
    const name = String(this.#next++).padStart(12, '0') + '.jsonl';
    const tmp = join(this.dir, name + '.tmp');
    writeFileSync(tmp, points.map((p) => JSON.stringify(p)).join('\n') + '\n');
    renameSync(tmp, join(this.dir, name));
    this.#files.push({ name, points: points.length });
    this.#points += points.length;
  }

  /**
   * The oldest batches, as many as fit in `maxPoints` (at least one), or
   * undefined when the spool is empty.
   */
  peek(maxPoints = Number.POSITIVE_INFINITY): { files: string[]; points: TelemetryPoint[] } | undefined {
    if (this.#head >= this.#files.length) return undefined;
    const files: string[] = [];
    const points: TelemetryPoint[] = [];
    for (let i = this.#head; i < this.#files.length && (files.length === 0 || points.length + this.#files[i]!.points <= maxPoints); i++) {
      const name = this.#files[i]!.name;
      files.push(name);
      const text = readFileSync(join(this.dir, name), 'utf8');
      for (const line of text.split('\n')) if (line.length > 0) points.push(JSON.parse(line) as TelemetryPoint);
    }
    return { files, points };
  }

  /**
   * Keeps points the server refused for good in `rejected/`, with the reason
   * on the first line (`# reason`), for a person to look at; returns the file.
   */
  reject(points: TelemetryPoint[], reason: string): string {
    const dir = join(this.dir, 'rejected');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${this.#next++}.jsonl`);
    writeFileSync(file, `# ${reason.replace(/\n/g, ' ')}\n` + points.map((p) => JSON.stringify(p)).join('\n') + '\n');
    return file;
  }

  /** Removes the oldest batches, once the server has taken them (`files` as peek gave them). */
  remove(files: string[]): void {
    for (const name of files) {
      const head = this.#files[this.#head];
      if (head?.name !== name) throw new Error(`spool: ${name} is not the oldest batch (${head?.name ?? 'none'})`);
      rmSync(join(this.dir, name), { force: true });
      this.#points -= head.points;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#files.length) {
      this.#files = this.#files.slice(this.#head);
      this.#head = 0;
    }
  }

  get size(): number {
    return this.#points;
  }

  #countLines(file: string): number {
    const text = readFileSync(join(this.dir, file), 'utf8');
    let n = 0;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
    return n;
  }
}

