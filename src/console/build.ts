// `npm run build`: the console bundled and minified into dist/console/assets, served from there by dist/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { bundleConsole } from './bundle.ts';

const out = new URL('../../dist/console/assets/', import.meta.url);
mkdirSync(out, { recursive: true });
const assets = await bundleConsole({ minify: true });
writeFileSync(new URL('app.js', out), assets.js);
writeFileSync(new URL('app.css', out), assets.css);
process.stdout.write(`console: app.js ${(assets.js.length / 1024).toFixed(1)} kB, app.css ${(assets.css.length / 1024).toFixed(1)} kB\n`);
