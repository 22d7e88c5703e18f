import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/**
 * The import graph of the project's TypeScript, read from the source text:
 * static imports and re-exports (over several lines too), side-effect imports
 * and dynamic `import('…')`. Only relative specifiers are followed: packages
 * are outside the layering.
 */

const STATIC = /^[ \t]*(?:import|export)\b[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm;
const SIDE_EFFECT = /^[ \t]*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The specifiers a module imports, in order of appearance within each kind. */
export function specifiersOf(text: string): string[] {
  const out: string[] = [];
  for (const re of [STATIC, SIDE_EFFECT, DYNAMIC]) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/** Files (project-relative, `/`-separated) → the project files they import. */
export type ImportGraph = Map<string, Set<string>>;

/** Builds the graph of the given files' text; `files` maps a project-relative path to its source. */
export function importGraph(files: ReadonlyMap<string, string>): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const [file, text] of files) {
    const targets = new Set<string>();
    for (const spec of specifiersOf(text)) {
      if (!spec.startsWith('.')) continue;
      targets.add(normalize(join(dirname(file), spec)).split('\\').join('/'));
    }
    graph.set(file, targets);
  }
  return graph;
}

/** Reads every .ts/.tsx file under the given folders (project-relative) of `root`. */
export function readSources(root: string, folders: string[]): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(path);
      } else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        files.set(relative(root, path).split('\\').join('/'), readFileSync(path, 'utf8'));
      }
    }
  };
  for (const folder of folders) walk(join(root, folder));
  return files;
}

/** The strongly connected groups of more than one node (Tarjan): each is an import cycle. */
export function cyclesOf(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      const selfLoop = group.length === 1 && (graph.get(v)?.has(v) ?? false);
      if (group.length > 1 || selfLoop) groups.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return groups;
}

/** The graph between folders: `src/rules/x.ts` → `src/rules`; a file directly in `src/` is its own node. */
export function folderGraph(graph: ImportGraph, depth = 2): Map<string, Set<string>> {
  const folder = (file: string): string => {
    const parts = file.split('/');
    return parts.length > depth ? parts.slice(0, depth).join('/') : file;
  };
  const out = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const from = folder(file);
    if (!out.has(from)) out.set(from, new Set());
    for (const t of targets) {
      const to = folder(t);
      if (to !== from) out.get(from)!.add(to);
    }
  }
  return out;
}

/** A layer may import only from the listed prefixes (itself included when listed). */
export interface Boundary {
  layer: string;
  mayImport: string[];
  why: string;
}

export interface Violation {
  file: string;
  imports: string;
  why: string;
}

export function violationsOf(graph: ImportGraph, boundaries: Boundary[]): Violation[] {
  const out: Violation[] = [];
  for (const [file, targets] of graph) {
    for (const b of boundaries) {
      if (!file.startsWith(b.layer)) continue;
      for (const t of targets) if (!b.mayImport.some((p) => t === p || t.startsWith(p))) out.push({ file, imports: t, why: b.why });
    }
  }
  return out;
}
