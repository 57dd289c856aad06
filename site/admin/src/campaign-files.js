// One editor entry, two files: a campaign's campaign.yml (its fields) and index.md (the landing page
// words, the entry's body). Decap keeps one file per entry, so this wraps whichever backend runs
// (the local stack's decap-server, or GitHub) and pairs the files on the way in and out:
//
//   read:   campaign.yml + index.md  →  one front matter document ("---\n<yaml>---\n<body>")
//   save:   that document            →  campaign.yml + index.md, in one commit / one request
//
// It also stops one editor overwriting another's work. Decap's GitHub backend commits on top of
// whatever the branch holds when you press Save, so without this the second of two people editing
// the same campaign would silently replace the first one's changes. Before saving a campaign that
// already exists, the files are read again; if they differ from what this editor opened, nothing is
// saved and the editor is told to reload. A new campaign whose folder exists already is refused too.
import { joinFrontMatter, splitFrontMatter } from './formats.js';

export const CONFLICT =
  'Someone else saved this campaign after you opened it. Nothing was saved. ' +
  'Copy your changes somewhere safe, reload the page to see theirs, then make your changes again.';

function pairOf(paired, path) {
  for (const pair of paired) {
    const prefix = `${pair.folder.replace(/\/$/, '')}/`;
    if (path.startsWith(prefix) && path.endsWith(`/${pair.data}`)) {
      const folder = path.slice(0, -pair.data.length - 1);
      if (folder.length > prefix.length && !folder.slice(prefix.length).includes('/')) {
        return { data: path, body: `${folder}/${pair.body}`, folder };
      }
    }
  }
  return null;
}

const text = value => (typeof value === 'string' ? value : '');

export function merge(dataText, bodyText) {
  // No campaign.yml: no entry (Decap checks new slugs this way), whatever else the folder holds.
  if (!text(dataText)) return dataText ?? null;
  const meta = text(dataText).replace(/^---\n/, '').replace(/\n*$/, '\n');
  return joinFrontMatter(meta, text(bodyText));
}

export function unpair(raw) {
  const { meta, body } = splitFrontMatter(raw);
  return { data: meta, body: body.replace(/^\n+/, '') };
}

export function withPairedFiles(inner, paired, { loaded = new Map() } = {}) {
  async function read(pair) {
    const [data, body] = await Promise.all([inner.getEntry(pair.data), inner.getEntry(pair.body)]);
    return { data: data?.data ?? null, body: body?.data ?? null, file: data?.file };
  }

  async function withBodies(entries) {
    const pairs = entries.map(entry => pairOf(paired, entry.file.path));
    const wanted = pairs.filter(Boolean).map(pair => ({ path: pair.body }));
    if (!wanted.length) return entries;
    const bodies = new Map((await inner.entriesByFiles(wanted)).map(e => [e.file.path, e.data]));
    // In place: backends hang a pagination cursor on the array itself.
    entries.forEach((entry, i) => {
      if (pairs[i]) entry.data = merge(entry.data, bodies.get(pairs[i].body));
    });
    return entries;
  }

  const overrides = {
    async entriesByFolder(...args) {
      return withBodies(await inner.entriesByFolder(...args));
    },
    async allEntriesByFolder(...args) {
      return withBodies(await inner.allEntriesByFolder(...args));
    },
    async getEntry(path) {
      const pair = pairOf(paired, path);
      if (!pair) return inner.getEntry(path);
      const found = await read(pair);
      loaded.set(pair.data, { data: text(found.data), body: text(found.body) });
      return { file: found.file || { path, id: null }, data: merge(found.data, found.body) };
    },
    async persistEntry(entry, options = {}) {
      const dataFiles = [];
      const saved = [];
      for (const file of entry.dataFiles || []) {
        const pair = pairOf(paired, file.path);
        if (!pair) {
          dataFiles.push(file);
          continue;
        }
        const now = await read(pair);
        if (options.newEntry) {
          if (text(now.data) || text(now.body)) {
            throw new Error(
              `${pair.folder} already exists: another campaign has this name. Nothing was saved. Choose another title.`,
            );
          }
        } else {
          const opened = loaded.get(pair.data);
          if (opened && (opened.data !== text(now.data) || opened.body !== text(now.body))) {
            throw new Error(CONFLICT);
          }
        }
        const parts = unpair(file.raw);
        const next = file.newPath ? pairOf(paired, file.newPath) : null;
        dataFiles.push({ ...file, raw: parts.data, ...(next ? { newPath: next.data } : {}) });
        dataFiles.push({ ...file, path: pair.body, raw: parts.body, ...(next ? { newPath: next.body } : {}) });
        saved.push([next ? next.data : pair.data, parts]);
      }
      const result = await inner.persistEntry({ ...entry, dataFiles }, options);
      for (const [path, parts] of saved) loaded.set(path, parts);
      return result;
    },
    async deleteFiles(paths, message) {
      const all = [];
      for (const path of paths) {
        all.push(path);
        const pair = pairOf(paired, path);
        if (pair) all.push(pair.body);
      }
      return inner.deleteFiles(all, message);
    },
  };

  return new Proxy(inner, {
    get(target, prop) {
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) return overrides[prop];
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
