import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkName, checkPassphrase, checkPhone, normalizePhone } from '../src/validate.js';

test('passphrase: at least 8 characters (code points) and confirmed', () => {
  assert.equal(checkPassphrase('1234567', '1234567'), 'form.passphraseShort');
  assert.equal(checkPassphrase('12345678', '12345679'), 'form.passphraseMismatch');
  assert.equal(checkPassphrase('12345678', '12345678'), null);
  assert.equal(checkPassphrase('🔑🔑🔑🔑', '🔑🔑🔑🔑'), 'form.passphraseShort', 'emoji count once each');
  assert.equal(checkPassphrase(undefined, undefined), 'form.passphraseShort');
});

test('name: required, trimmed, bounded', () => {
  assert.equal(checkName('  '), 'form.nameRequired');
  assert.equal(checkName('Ana'), null);
  assert.equal(checkName('x'.repeat(101)), 'form.nameLong');
  assert.equal(checkName(null), 'form.nameRequired');
});

test('phone: optional, digits with the usual punctuation', () => {
  for (const ok of ['', '  ', '+34 600 00 00 00', '(555) 123-4567', '600.000.000']) assert.equal(checkPhone(ok), null, ok);
  for (const bad of ['abc', '12', '+', '--------', '555 CALL NOW']) assert.equal(checkPhone(bad), 'form.phoneInvalid', bad);
  assert.equal(normalizePhone(' +34 (600) 00-00-00 '), '+34600000000');
  assert.equal(normalizePhone('600 000'), '600000');
  assert.equal(normalizePhone(''), '');
});
