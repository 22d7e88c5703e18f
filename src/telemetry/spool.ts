import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TelemetryPoint } from './point.ts';

/**
 * A directory of batch files holding points that could not be written to a
 * remote server yet. Each batch is one file, written to a temp name and renamed
 * so a crash never leaves half a batch; files are replayed in name order and
 * removed only after the server accepted them.
 */
export class DiskSpool {
  readonly dir: string;
  #next: number;
  #points = 0;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) rmSync(join(dir, f));
    const files = this.files();
    this.#next = files.length ? Number(files[files.length - 1]!.slice(0, -6)) + 1 : 1;
    for (const f of files) this.#points += this.#countLines(f);
  }

  files(): string[] {
    return readdirSync(this.dir)
      .filter((f) => /^\d{12}\.jsonl$/.test(f))
      .sort();
  }

  append(points: TelemetryPoint[]): void {
    if (points.length === 0) return;
    const name = String(this.#next++).padStart(12, '0') + '.jsonl';
    const tmp = join(this.dir, name + '.tmp');
    writeFileSync(tmp, points.map((p) => JSON.stringify(p)).join('\n') + '\n');
    renameSync(tmp, join(this.dir, name));
    this.#points += points.length;
  }

  /** The oldest batch, or undefined when the spool is empty. */
  peek(): { file: string; points: TelemetryPoint[] } | undefined {
    const file = this.files()[0];
    if (!file) return undefined;
    const text = readFileSync(join(this.dir, file), 'utf8');
    const points = text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as TelemetryPoint);
    return { file, points };
  }

  remove(file: string, count: number): void {
    rmSync(join(this.dir, file), { force: true });
    this.#points -= count;
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

