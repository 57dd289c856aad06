// node --test: the editor's file formats (site/admin/src/formats.js). Run by tests/site/test_editor_js.py.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatFor, prune, toEditor, toFile } from '../src/formats.js';

const PAY_MAPS = { bands: { fields: {} }, unsocial_hours: { value: { value: null } } };

test('a mapping with chosen keys is a list of {id, ...} in the editor, and a mapping again in the file', () => {
  const file = { bands: { 'band-2': { label: 'NHS Band 2', from: 24465 } }, unsocial_hours: { 'band-2': { sunday: 83 } } };
  const editor = toEditor(file, PAY_MAPS);
  assert.deepEqual(editor.bands, [{ id: 'band-2', label: 'NHS Band 2', from: 24465 }]);
  assert.deepEqual(editor.unsocial_hours, [{ id: 'band-2', value: [{ id: 'sunday', value: 83 }] }]);
  assert.deepEqual(toFile(editor, PAY_MAPS), file);
});

test('empty optional values are left out of the file', () => {
  assert.deepEqual(prune({ a: '', b: null, c: [], d: 'x', e: [{ f: '', g: 1 }], h: '  ' }), { d: 'x', e: [{ g: 1 }] });
});

test('a front matter file keeps its body, writes keys in model order and quotes what YAML 1.1 would misread', () => {
  const format = formatFor({ kind: 'frontmatter', maps: {}, order: { keys: ['title', 'starts', 'placements'], fields: { placements: { keys: ['id', 'name'] } } } });
  const data = format.fromFile('---\ntitle: Harehills\nstarts: 2027-04-01\n---\n\nSome words.\n');
  assert.deepEqual(data, { title: 'Harehills', starts: '2027-04-01', body: 'Some words.\n' });
  const text = format.toFile({ placements: [{ name: 'Library', id: 'hh-lib' }], starts: '2027-04-01', title: 'yes', body: 'Some words.', location: '' });
  assert.equal(text, '---\ntitle: "yes"\nstarts: "2027-04-01"\nplacements:\n  - id: hh-lib\n    name: Library\n---\n\nSome words.\n');
});

test('a YAML file round-trips through the editor unchanged in meaning', () => {
  const format = formatFor({ kind: 'yaml', maps: PAY_MAPS, order: { keys: ['pay_year', 'bands'] } });
  const data = format.fromFile('pay_year: "2025/26"\nbands:\n  band-2:\n    label: NHS Band 2\n    from: 24465\n');
  assert.deepEqual(data.bands, [{ id: 'band-2', label: 'NHS Band 2', from: 24465 }]);
  assert.equal(format.toFile(data), 'pay_year: 2025/26\nbands:\n  band-2:\n    label: NHS Band 2\n    from: 24465\n');
});
