import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cyclesOf, folderGraph, importGraph, readSources, specifiersOf, violationsOf, type Boundary } from '../../helpers/import-graph.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The layers and what each may import (prefixes of project paths). */
const boundaries: Boundary[] = [
  { layer: 'src/core/', mayImport: ['src/core/'], why: 'core is the bottom layer: shared types and helpers, nothing above it' },
  { layer: 'src/store/', mayImport: ['src/store/', 'src/core/'], why: 'the store keeps data; it knows no rules, alarms or transport' },
  { layer: 'src/profiles/', mayImport: ['src/profiles/', 'src/core/'], why: 'profiles decode payloads; they know nothing of the broker or alarms' },
  {
    layer: 'src/rules/',
    mayImport: ['src/rules/', 'src/core/', 'src/profiles/', 'src/devices/'],
    why: 'rules are pure (state, input, now → state, intents): no database, no HTTP, no alarm service',
  },
  { layer: 'src/console/app/', mayImport: ['src/console/app/', 'src/core/'], why: 'the browser console talks to the server over HTTP only' },
  {
    layer: 'simulators/',
    mayImport: ['simulators/', 'src/profiles/', 'src/core/', 'src/config/', 'src/app.ts', 'src/listen.ts'],
    why: 'simulators are devices: they share the profile decoders and may start a server, nothing else',
  },
];

describe('import boundaries', () => {
  const sources = readSources(root, ['src', 'simulators']);
  const graph = importGraph(sources);

  it('reads every kind of import, and finds cycles and forbidden imports in a planted example', () => {
    expect(
      specifiersOf(
        [
          "import type { A } from './a.ts';",
          'import {',
          '  b,',
          '  c,',
          "} from '../store/b.ts';",
          "export { d } from './d.ts';",
          "import './side.ts';",
          "const e = await import('../api/e.ts');",
          "// a sentence that says: take it from 'x' (not an import)",
        ].join('\n'),
      ),
    ).toEqual(['./a.ts', '../store/b.ts', './d.ts', './side.ts', '../api/e.ts']);

    const planted = importGraph(
      new Map([
        ['src/rules/r.ts', "import { Db } from '../store/database.ts';\nimport { x } from './x.ts';"],
        ['src/rules/x.ts', "import { r } from './r.ts';"],
        ['src/store/database.ts', "import { m } from '../core/model.ts';"],
        ['src/core/model.ts', ''],
      ]),
    );
    expect(cyclesOf(planted)).toEqual([['src/rules/r.ts', 'src/rules/x.ts']]);
    expect(violationsOf(planted, boundaries)).toEqual([{ file: 'src/rules/r.ts', imports: 'src/store/database.ts', why: expect.stringContaining('pure') }]);
    const folders = folderGraph(importGraph(new Map([['src/a/one.ts', "import '../b/two.ts';"], ['src/b/two.ts', "import '../a/three.ts';"], ['src/a/three.ts', '']])));
    expect(cyclesOf(folders)).toEqual([['src/a', 'src/b']]);
  });

  it('reads the real tree: every layer above has files, and imports resolve to files that exist', () => {
    for (const b of boundaries) expect([...sources.keys()].some((f) => f.startsWith(b.layer)), b.layer).toBe(true);
    const missing = [...graph].flatMap(([file, targets]) => [...targets].filter((t) => !sources.has(t) && /\.tsx?$/.test(t)).map((t) => `${file} → ${t}`));
    expect(missing).toEqual([]);
  });

  it('has no import cycle between files in src/', () => {
    expect(cyclesOf(graph)).toEqual([]);
  });

  it('has no import cycle between the folders of src/', () => {
    const src = new Map([...graph].filter(([file]) => file.startsWith('src/')));
    expect(cyclesOf(folderGraph(src))).toEqual([]);
  });

  it('keeps each layer to what it may import', () => {
    expect(violationsOf(graph, boundaries)).toEqual([]);
  });
});
