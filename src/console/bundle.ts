import { fileURLToPath } from 'node:url';

export interface ConsoleAssets {
  js: string;
  css: string;
}

/** The console's sources (TSX, Preact); bundled by esbuild into one script and one stylesheet. */
export const consoleEntry = fileURLToPath(new URL('./app/main.tsx', import.meta.url));

export async function bundleConsole(opts: { minify: boolean }): Promise<ConsoleAssets> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [consoleEntry],
    bundle: true,
    write: false,
    format: 'esm',
    target: ['chrome100', 'safari15', 'firefox100'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: opts.minify,
    outdir: 'out',
    loader: { '.css': 'css' },
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'));
  if (!js || !css) throw new Error('console bundle incomplete');
  return { js: js.text, css: css.text };
}
