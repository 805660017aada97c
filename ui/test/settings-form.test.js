import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, describe, HINTS, humanize, validTimeZone } from '../src/settings-form.js';

const settings = {
  hotlineName: 'Línea',
  timeZone: 'Europe/Madrid',
  languages: ['en', 'es'],
  queueTimeoutSeconds: 90,
  voicemailMode: 'auto',
  recording: false,
  rateLimit: { enabled: true, callsPerMinute: 3 },
  captcha: { enabled: false, maxAttempts: 3 },
  passkeyPolicy: { admins: false, volunteers: false },
  futureKnob: 7,
  futureText: 'x',
  futureList: ['a', 'b'],
  futureObjects: [{ a: 1 }],
  futureNull: null,
};

function readerFrom(values) {
  return (path) => values[path];
}

function flatDefaults(tree, out = {}) {
  for (const n of tree) {
    if (n.kind === 'group') flatDefaults(n.children, out);
    else if (n.kind === 'list') out[n.path] = n.value.join(', ');
    else if (n.kind === 'number') out[n.path] = String(n.value);
    else out[n.path] = n.value;
  }
  return out;
}

test('describe picks a control for every value, known or not', () => {
  const tree = describe(settings);
  const kinds = Object.fromEntries(tree.map((n) => [n.key, n.kind]));
  assert.deepEqual(kinds, {
    hotlineName: 'string',
    timeZone: 'timezone',
    languages: 'multi',
    queueTimeoutSeconds: 'number',
    voicemailMode: 'enum',
    recording: 'bool',
    rateLimit: 'group',
    captcha: 'group',
    passkeyPolicy: 'group',
    futureKnob: 'number',
    futureText: 'string',
    futureList: 'list',
    futureObjects: 'opaque',
    futureNull: 'opaque',
  });
  const pp = tree.find((n) => n.key === 'passkeyPolicy');
  assert.deepEqual(pp.children.map((c) => [c.path, c.kind, c.hint.label]), [
    ['passkeyPolicy.admins', 'bool', 'settings.passkeyAdmins'],
    ['passkeyPolicy.volunteers', 'bool', 'settings.passkeyVolunteers'],
  ]);
});

test('an unchanged form collects back exactly the object it came from', () => {
  const tree = describe(settings);
  const { value, errors } = collect(tree, readerFrom(flatDefaults(tree)));
  assert.deepEqual(errors, {});
  assert.deepEqual(value, settings);
});

test('edits are read back with their types', () => {
  const tree = describe(settings);
  const vals = flatDefaults(tree);
  vals['passkeyPolicy.volunteers'] = true;
  vals['queueTimeoutSeconds'] = ' 120 ';
  vals['languages'] = ['es', 'fr'];
  vals['futureList'] = ' x ,, y ';
  vals['hotlineName'] = '  Nueva  ';
  const { value, errors } = collect(tree, readerFrom(vals));
  assert.deepEqual(errors, {});
  assert.equal(value.passkeyPolicy.volunteers, true);
  assert.equal(value.queueTimeoutSeconds, 120);
  assert.deepEqual(value.languages, ['es']);
  assert.deepEqual(value.futureList, ['x', 'y']);
  assert.equal(value.hotlineName, 'Nueva');
});

test('bad values give errors per path', () => {
  const tree = describe(settings);
  const vals = flatDefaults(tree);
  Object.assign(vals, {
    queueTimeoutSeconds: '10',
    'rateLimit.callsPerMinute': '2.5',
    'captcha.maxAttempts': 'abc',
    voicemailMode: 'sometimes',
    languages: [],
    hotlineName: ' ',
    timeZone: 'Mars/Olympus',
    futureKnob: '',
  });
  const { errors } = collect(tree, readerFrom(vals));
  assert.deepEqual(Object.fromEntries(Object.entries(errors).map(([p, e]) => [p, e.key])), {
    hotlineName: 'settings.errRequired',
    timeZone: 'settings.errTimeZone',
    languages: 'settings.errAtLeastOne',
    queueTimeoutSeconds: 'settings.errRange',
    voicemailMode: 'settings.errChoice',
    'rateLimit.callsPerMinute': 'settings.errInteger',
    'captcha.maxAttempts': 'settings.errNumber',
    futureKnob: 'settings.errNumber',
  });
  assert.deepEqual(errors.queueTimeoutSeconds.vars, { min: 30, max: 300 });
  const long = collect(tree, readerFrom({ ...flatDefaults(tree), hotlineName: 'x'.repeat(101) }));
  assert.equal(long.errors.hotlineName.key, 'settings.errTooLong');
});

test('humanize and time zones', () => {
  assert.equal(humanize('futureKnob'), 'Future knob');
  assert.equal(humanize('max_call-length'), 'Max call length');
  assert.equal(validTimeZone('America/Mexico_City'), true);
  assert.equal(validTimeZone('Nowhere/Atlantis'), false);
  assert.ok(Object.keys(HINTS).includes('passkeyPolicy.volunteers'));
});

test('retention offers keep forever or a number of days, for each kind of record', () => {
  const retention = {
    callRecords: { forever: true, days: 365 },
    notes: { forever: false, days: 90 },
    transcripts: { forever: true, days: 365 },
  };
  const [node] = describe({ retention });
  assert.equal(node.kind, 'group');
  assert.equal(node.hint.label, 'settings.retention');
  for (const child of node.children) {
    assert.equal(child.kind, 'group');
    const [forever, days] = child.children;
    assert.equal(forever.kind, 'bool');
    assert.equal(forever.hint.label, 'settings.keepForever');
    assert.equal(days.kind, 'number');
    assert.equal(days.hint.min, 1);
  }
  const values = flatDefaults([node]);
  assert.deepEqual(collect([node], readerFrom(values)).value, { retention });
  values['retention.notes.days'] = '0';
  assert.ok(collect([node], readerFrom(values)).errors['retention.notes.days'], 'zero days is refused: forever is the checkbox');
});
