// `npm run build:admin` (run by `make install`): the editor's JavaScript for /admin/.
//
// esbuild bundles site/admin/src/admin.js with Decap CMS (decap-cms-app) and React into one
// file, cms.js; Decap's own lazily loaded parts (numbered chunks, WebAssembly) are copied beside
// it, because Decap loads them from wherever cms.js was loaded. `cchcc build` copies this folder
// to build/site/admin/, with the configuration it generates from the models. Public pages never
// load any of it.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(root, 'node_modules', '.cchcc-admin');
const require = createRequire(import.meta.url);
const decapDist = dirname(require.resolve('decap-cms-app/dist/decap-cms-app.js'));

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
