// `npm run build:admin` (run by `make install`): the editor's JavaScript for /admin/.
//
// esbuild bundles site/admin/src/admin.js with Decap CMS (decap-cms-app) and React into one
// file, cms.js; Decap's own lazily loaded parts (numbered chunks, WebAssembly) are copied beside
// it, because Decap loads them from wherever cms.js was loaded. `cchcc build` copies this folder
// to build/site/admin/, with the configuration it generates from the models. Public pages never
// load any of it.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(root, 'node_modules', '.cchcc-admin');
const require = createRequire(import.meta.url);
const decapDist = dirname(require.resolve('decap-cms-app/dist/decap-cms-app.js'));

// decap-cms-app's bundle carries its own copy of React DOM's client, which refuses to run with
// any other React version (React error #527): package.json pins react and react-dom to it.
const bundled = [...new Set(readFileSync(join(decapDist, 'decap-cms-app.js'), 'utf8').match(/"19\.\d+\.\d+"/g) || [])];
const react = require('react/package.json').version;
if (bundled.length !== 1 || bundled[0] !== `"${react}"`) {
  console.error(`build:admin: decap-cms-app expects React ${bundled.join(' or ')}, but react ${react} is installed; pin react and react-dom in package.json to it`);
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(here, 'src', 'admin.js')],
  outfile: join(out, 'cms.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  // decap-cms-app's "main" is its browser bundle, which takes React from the bundle we make.
  mainFields: ['browser', 'main'],
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'linked',
  logLevel: 'warning',
});

let copied = 0;
for (const name of readdirSync(decapDist)) {
  if (/^\d+\.decap-cms-app\.js$/.test(name) || name.endsWith('.wasm') || name.endsWith('.LICENSE.txt')) {
    copyFileSync(join(decapDist, name), join(out, name));
    copied += 1;
  }
}
copyFileSync(join(here, 'src', 'preview.css'), join(out, 'preview.css'));
console.log(`build:admin: node_modules/.cchcc-admin/cms.js and ${copied} Decap file(s)`);
