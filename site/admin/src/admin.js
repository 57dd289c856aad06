// The editor at /admin/: Decap CMS (decap-cms-app, bundled with React by site/admin/build.mjs;
// nothing is fetched from another site) over the project's own files.
//
// The configuration is /admin/config.json, generated from the models by cchcc/site/cms.py.
// Where it runs decides where saves go:
//   * on the local stack (`make edit`), /_local/cms/api/v1 answers: Decap's local backend
//     (decap-server, behind the local stack, which checks every save as `cchcc check` does and
//     writes into the checkout);
//   * anywhere else, GitHub: each save is a commit, and the pipeline checks and deploys it.
import CMS from 'decap-cms-app';

import { withPairedFiles } from './campaign-files.js';
import { formatFor } from './formats.js';
import { campaignPreview, pagePreview } from './preview.js';

const LOCAL_INFO = { action: 'info' };

async function localBackend(url) {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(LOCAL_INFO),
    });
    if (!response.ok) return false;
    const info = await response.json();
    return typeof info.repo === 'string' && typeof info.type === 'string';
  } catch {
    return false;
  }
}

function register(extra) {
  const paired = extra.paired || [];
  for (const name of ['proxy', 'github']) {
    const inner = CMS.getBackend(name);
    CMS.registerBackend(
      `cchcc-${name}`,
      class {
        constructor(...args) {
          return withPairedFiles(inner.init(...args), paired);
        }
      },
    );
  }
  for (const [name, format] of Object.entries(extra.formats || {})) {
    const extension = format.kind === 'yaml' ? 'yml' : 'md';
    CMS.registerCustomFormat(`cchcc:${name}`, extension, formatFor(format));
  }
  const preview = extra.preview || {};
  for (const href of preview.styles || []) CMS.registerPreviewStyle(href);
  CMS.registerPreviewTemplate(
    'campaigns',
    campaignPreview({ formHtml: preview.form_html || '', contactDays: preview.contact_days || 5 }),
  );
  CMS.registerPreviewTemplate('careers', pagePreview());
}

function notConfigured(message) {
  const main = document.createElement('main');
  main.setAttribute('style', 'font: 1rem/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem');
  const h1 = document.createElement('h1');
  h1.textContent = 'The editor is not set up for this site yet';
  const p = document.createElement('p');
  p.textContent = message;
  main.append(h1, p);
  document.body.append(main);
}

async function start() {
  const response = await fetch('config.json', { cache: 'no-cache' });
  const config = await response.json();
  const extra = config._cchcc || {};
  delete config._cchcc;
  register(extra);
  if (extra.local_backend && (await localBackend(extra.local_backend))) {
    config.backend = { ...config.backend, name: 'cchcc-proxy', proxy_url: extra.local_backend };
    window.cchccEditor = { backend: 'local' };
  } else if (!config.backend.repo) {
    notConfigured(
      'Saving from the browser needs the GitHub repository the site is built from. ' +
        'The person who looks after the deployment can set it up: see docs/deploy.md, "Editing in a browser".',
    );
    return;
  } else {
    window.cchccEditor = { backend: 'github' };
  }
  CMS.init({ config });
}

start();
