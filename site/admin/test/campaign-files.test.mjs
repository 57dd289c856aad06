// node --test: one editor entry for campaign.yml + index.md, and no silent overwrite
// (site/admin/src/campaign-files.js), against an in-memory backend shaped like Decap's.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CONFLICT, withPairedFiles } from '../src/campaign-files.js';

const PAIRED = [{ folder: 'campaigns', data: 'campaign.yml', body: 'index.md' }];

function memoryBackend(files) {
  const calls = [];
  return {
    files,
    calls,
    async getEntry(path) {
      return { file: { path, id: null }, data: path in files ? files[path] : null };
    },
    async entriesByFiles(wanted) {
      return wanted.map(({ path }) => ({ file: { path }, data: files[path] ?? null }));
    },
    async entriesByFolder(folder) {
      return Object.keys(files)
        .filter(p => p.startsWith(`${folder}/`) && p.endsWith('.yml'))
        .map(path => ({ file: { path }, data: files[path] }));
    },
    async persistEntry(entry) {
      calls.push(entry.dataFiles.map(f => f.path));
      for (const file of entry.dataFiles) files[file.path] = file.raw;
    },
    async deleteFiles(paths) {
      calls.push(['delete', ...paths]);
    },
    authComponent() {
      return 'passed through';
    },
  };
}

const opened = () =>
  memoryBackend({ 'campaigns/hh/campaign.yml': 'title: Harehills\n', 'campaigns/hh/index.md': 'Words.\n' });

test('reading a campaign gives one document: its fields, then its words', async () => {
  const backend = withPairedFiles(opened(), PAIRED);
  const entry = await backend.getEntry('campaigns/hh/campaign.yml');
  assert.equal(entry.data, '---\ntitle: Harehills\n---\n\nWords.\n');
  const listed = await backend.entriesByFolder('campaigns', 'yml', 2);
  assert.equal(listed[0].data, entry.data);
  assert.equal(backend.authComponent(), 'passed through');
});

test('a campaign with no campaign.yml does not exist (so Decap keeps the name for a new one)', async () => {
  const backend = withPairedFiles(memoryBackend({}), PAIRED);
  assert.equal((await backend.getEntry('campaigns/new/campaign.yml')).data, null);
});

test('saving writes campaign.yml and index.md together', async () => {
  const inner = opened();
  const backend = withPairedFiles(inner, PAIRED);
  await backend.getEntry('campaigns/hh/campaign.yml');
  await backend.persistEntry({ dataFiles: [{ path: 'campaigns/hh/campaign.yml', slug: 'hh', raw: '---\ntitle: New\n---\n\nNew words.\n' }], assets: [] }, {});
  assert.deepEqual(inner.calls, [['campaigns/hh/campaign.yml', 'campaigns/hh/index.md']]);
  assert.equal(inner.files['campaigns/hh/campaign.yml'], 'title: New\n');
  assert.equal(inner.files['campaigns/hh/index.md'], 'New words.\n');
});

test('the second of two editors is told, and nothing of theirs is written', async () => {
  const inner = opened();
  const first = withPairedFiles(inner, PAIRED);
  const second = withPairedFiles(inner, PAIRED);
  await first.getEntry('campaigns/hh/campaign.yml');
  await second.getEntry('campaigns/hh/campaign.yml');
  const save = raw => ({ dataFiles: [{ path: 'campaigns/hh/campaign.yml', slug: 'hh', raw }], assets: [] });
  await first.persistEntry(save('---\ntitle: First\n---\n\nFirst words.\n'), {});
  await assert.rejects(second.persistEntry(save('---\ntitle: Second\n---\n\nSecond.\n'), {}), { message: CONFLICT });
  assert.equal(inner.files['campaigns/hh/campaign.yml'], 'title: First\n');
  // The first editor may go on saving its own work.
  await first.persistEntry(save('---\ntitle: First again\n---\n\nFirst words.\n'), {});
  assert.equal(inner.files['campaigns/hh/campaign.yml'], 'title: First again\n');
});

test('a new campaign whose folder exists is refused', async () => {
  const inner = opened();
  const backend = withPairedFiles(inner, PAIRED);
  await assert.rejects(
    backend.persistEntry({ dataFiles: [{ path: 'campaigns/hh/campaign.yml', raw: '---\ntitle: X\n---\n\nY\n' }], assets: [] }, { newEntry: true }),
    /campaigns\/hh already exists/,
  );
  assert.deepEqual(inner.calls, []);
});

test('other files pass through untouched', async () => {
  const inner = memoryBackend({ 'site/data/pay.yml': 'pay_year: 2025/26\n' });
  const backend = withPairedFiles(inner, PAIRED);
  assert.equal((await backend.getEntry('site/data/pay.yml')).data, 'pay_year: 2025/26\n');
  await backend.persistEntry({ dataFiles: [{ path: 'site/data/pay.yml', raw: 'x: 1\n' }], assets: [] }, {});
  assert.deepEqual(inner.calls, [['site/data/pay.yml']]);
});
