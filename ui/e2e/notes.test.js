// Issue 7 in a real browser: end-to-end encrypted notes with custom fields.
//
// The admin defines a field of every type; volunteer A answers a demo call
// and writes a note during it. A value that breaks its definition is refused
// in the browser (nothing is sent); the corrected note is saved, read back
// by its author after a reload, and read by the admin in another browser
// context. Volunteer B gets 404 for that note by id, as for one that does
// not exist, and B's real key (taken from B's recovery backup) cannot open
// the envelope either. A draft typed
// and not saved survives a reload and is gone from localStorage after
// logout. A malformed envelope, or one not sealed to every admin, is refused
// by the API and nothing is stored. A note envelope the daemon copies into
// another call (POST /api/demo/tamper/copy-note: a compromised server) shows
// an integrity error and none of its text, to the admin and to the author.
// Finally, the note text, the field values and the caller's number appear
// nowhere the daemon wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { findCanaries, poll, startHarness } from './harness.js';
import { apiAs, callerNumberIn, heading, invite, join, login, logout, makeAvailable, nav, placeDemoCall, scheduleEveryoneNow, scriptErrors, setupAdmin, step, tmpFile } from './flows.js';
import { restoreBackup, sealJSON } from '../src/keys.js';
import { noteRecipients, openNote } from '../src/notes.js';

const rnd = (n) => Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('');
const ADMIN = { name: 'Nora Admin', passphrase: 'admin notes passphrase' };
const VOL_A = { name: 'Ana Voluntaria', passphrase: 'volunteer a notes pass' };
const VOL_B = { name: 'Beto Voluntario', passphrase: 'volunteer b notes pass' };
const CALLER = '+3469' + rnd(7);
const NOTE_TEXT = `Caller talked about exams. Canary-N0te-${rnd(6)}`;
const SUMMARY = `Summary-Canary-${rnd(6)}`;
const DETAILS = `Details canary ${rnd(6)}, second line`;
const DRAFT_TEXT = `Draft-Canary-${rnd(6)} not saved yet`;
const OTHER_TEXT = `Other-Call-Canary-${rnd(6)}`;

// addField fills the last row of the fields editor.
async function addField(page, { label, type, required, options, min, max, minLength, maxLength }) {
  await page.getByRole('button', { name: 'Add a field' }).click();
  const row = page.locator('ol.field-defs > li').last();
  await row.getByLabel('Label').fill(label);
  await row.getByLabel('Type').selectOption(type);
  if (required) await row.getByLabel('Required').check();
  if (options) await row.getByLabel('Options').fill(options.join('\n'));
  if (min !== undefined) await row.getByLabel('Minimum', { exact: true }).fill(String(min));
  if (max !== undefined) await row.getByLabel('Maximum', { exact: true }).fill(String(max));
  if (minLength !== undefined) await row.getByLabel('Minimum length').fill(String(minLength));
  if (maxLength !== undefined) await row.getByLabel('Maximum length').fill(String(maxLength));
}

// answerRing waits for the ring card and answers; → the call id.
async function answerRing(page) {
  const card = page.locator('.ring-card');
  await card.waitFor({ timeout: 30000 });
  const callId = await card.getAttribute('data-call-id');
  await card.getByRole('button', { name: 'Answer' }).click();
  await page.locator('.call-panel').waitFor();
  return callId;
}

test('notes: fields, validation, drafts, access, integrity, canaries', { timeout: 900000 }, async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const admin = await h.newContext();
  const volA = await h.newContext();
  const volB = await h.newContext();
  const noteRequests = [];
  volA.page.on('request', (r) => {
    if (/\/api\/(calls\/[^/]+\/notes|notes\/)/.test(r.url()) && r.method() !== 'GET') noteRequests.push(r.method() + ' ' + r.url());
  });

  await step(t, 'admin sets up and defines a field of every type', async () => {
    await setupAdmin(h, admin.page, ADMIN);
    await nav(admin.page, 'Note fields');
    await addField(admin.page, { label: 'Summary', type: 'text', required: true, minLength: 5, maxLength: 60 });
    await addField(admin.page, { label: 'Details', type: 'textarea', maxLength: 500 });
    await addField(admin.page, { label: 'Age', type: 'number', min: 0, max: 120 });
    await addField(admin.page, { label: 'Risk', type: 'select', required: true, options: ['low', 'medium', 'high'] });
    await addField(admin.page, { label: 'Follow-up needed', type: 'checkbox' });
    // Reorder with the buttons: Risk goes up one place.
    await admin.page.getByRole('button', { name: 'Move Risk up' }).click();
    await admin.page.getByRole('button', { name: 'Save', exact: true }).click();
    await admin.page.getByText('Fields saved.').waitFor();
    const r = await apiAs(admin.page, 'GET', '/api/fields');
    assert.deepEqual(r.json.fields.map((f) => [f.id, f.type]), [['summary', 'text'], ['details', 'textarea'], ['risk', 'select'], ['age', 'number'], ['follow_up_needed', 'checkbox']]);
    assert.deepEqual(r.json.fields[0], { id: 'summary', label: 'Summary', type: 'text', required: true, minLength: 5, maxLength: 60 });
  });

  await step(t, 'the fields editor refuses a broken definition with a message', async () => {
    await addField(admin.page, { label: 'Score', type: 'number', min: 10, max: 1 });
    await admin.page.getByRole('button', { name: 'Save', exact: true }).click();
    await admin.page.getByText('The maximum is below the minimum.').waitFor();
    await admin.page.getByRole('button', { name: 'Remove Score' }).click();
    await admin.page.getByRole('button', { name: 'Save', exact: true }).click();
    await admin.page.getByText('Fields saved.').waitFor();
    assert.equal((await apiAs(admin.page, 'GET', '/api/fields')).json.fields.length, 5);
  });

  const keyB = await step(t, 'two volunteers join; A is scheduled and available', async () => {
    await join(h, volA.page, await invite(admin.page), VOL_A);
    const k = await join(h, volB.page, await invite(admin.page), VOL_B, tmpFile(h, 'b-backup.json'));
    await scheduleEveryoneNow(admin.page, [VOL_A.name]);
    await makeAvailable(volA.page);
    return k;
  });

  let callId;
  let demoId;
  await step(t, 'a call rings A, who answers; the note editor is in the call panel', async () => {
    demoId = (await placeDemoCall(admin.page, 'voice', CALLER)).id;
    callId = await answerRing(volA.page);
    await volA.page.locator('.call-panel .note-editor').waitFor();
  });

  await step(t, 'values that break their definitions are refused in the browser, nothing sent', async () => {
    const ed = volA.page.locator('.call-panel .note-editor');
    await ed.getByLabel('What happened').fill(NOTE_TEXT);
    await ed.getByLabel('Summary').fill('abc');
    await ed.getByLabel('Details').fill(DETAILS);
    await ed.getByLabel('Age').fill('200');
    await ed.getByRole('button', { name: 'Save note' }).click();
    await ed.getByText('Too short: 3 characters, at least 5.').waitFor();
    await ed.getByText('The largest value allowed is 120.').waitFor();
    await ed.getByText('This field is required.').waitFor(); // Risk
    await ed.getByText('Some fields need fixing; nothing was sent.').waitFor();
    assert.equal(await ed.getByLabel('Summary').getAttribute('aria-invalid'), 'true');
    assert.equal(await volA.page.evaluate(() => document.activeElement.dataset.field), 'summary', 'focus on the first wrong field');
    assert.deepEqual(noteRequests, [], 'no note request left the browser');
  });

  let noteId;
  await step(t, 'the corrected note is saved during the call', async () => {
    const ed = volA.page.locator('.call-panel .note-editor');
    noteId = await ed.getAttribute('data-note-id');
    await ed.getByLabel('Summary').fill(SUMMARY);
    await ed.getByLabel('Age').fill('37');
    await ed.getByLabel('Risk').selectOption('medium');
    await ed.getByLabel('Follow-up needed').check();
    await ed.getByRole('button', { name: 'Save note' }).click();
    await ed.getByText('Note saved.').waitFor();
    assert.deepEqual(noteRequests, [`POST ${h.origin}/api/calls/${callId}/notes`]);
    const r = await apiAs(volA.page, 'GET', `/api/notes/${noteId}`);
    assert.equal(r.status, 200);
    assert.equal(r.json.callId, callId);
    assert.ok(!JSON.stringify(r.json).includes('Canary'), 'the server has an envelope, not text');
  });

  await step(t, 'the caller hangs up; the editor stays with the call ended', async () => {
    const r = await apiAs(admin.page, 'DELETE', `/api/demo/calls/${demoId}`);
    assert.equal(r.status, 204);
    await volA.page.locator('.call-panel .call-status', { hasText: 'The caller hung up.' }).waitFor();
    await volA.page.locator('.call-panel .note-editor').waitFor();
    await volA.page.getByRole('button', { name: 'Close' }).click();
    await poll(async () => (await volA.page.locator('.call-panel').count()) === 0, { what: 'call panel closed' });
  });

  await step(t, 'after a reload the author reads the note back, decrypted', async () => {
    await volA.page.reload();
    await login(volA.page, VOL_A.passphrase);
    await heading(volA.page, /^Hello, /);
    await volA.page.goto(`${h.origin}/#/calls/${callId}`);
    await heading(volA.page, 'Call');
    const note = volA.page.locator(`article.note[data-note-id="${noteId}"]`);
    await note.getByText(NOTE_TEXT).waitFor();
    assert.equal(await note.locator('dd[data-field="summary"]').textContent(), SUMMARY);
    assert.equal(await note.locator('dd[data-field="details"]').textContent(), DETAILS);
    assert.equal(await note.locator('dd[data-field="age"]').textContent(), '37');
    assert.equal(await note.locator('dd[data-field="risk"]').textContent(), 'medium');
    assert.equal(await note.locator('dd[data-field="follow_up_needed"]').textContent(), 'Yes');
  });

  await step(t, 'a draft typed and not saved survives a reload', async () => {
    const note = volA.page.locator(`article.note[data-note-id="${noteId}"]`);
    await note.getByRole('button', { name: 'Edit' }).click();
    const ed = volA.page.locator('.note-editor');
    await ed.getByLabel('What happened').fill(`${NOTE_TEXT}\n${DRAFT_TEXT}`);
    await ed.locator('.draft-status', { hasText: 'Draft kept on this device' }).waitFor({ timeout: 10000 });
    const stored = await volA.page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('llamenos.draft.')));
    assert.equal(stored.length, 1);
    assert.equal(stored[0][0], `llamenos.draft.${noteId}`);
    assert.ok(!stored[0][1].includes('Draft-Canary'), 'the draft is sealed');
    await volA.page.reload();
    await login(volA.page, VOL_A.passphrase);
    // Back on the call page after unlocking: the editor reopens with the draft.
    await heading(volA.page, 'Call');
    await volA.page.locator('.note-editor').getByText(/Your unsaved draft from .* was restored\./).waitFor();
    // Home points at the draft too.
    await nav(volA.page, 'Home', /^Hello, /);
    await volA.page.getByRole('link', { name: /^Draft saved / }).click();
    await heading(volA.page, 'Call');
    const again = volA.page.locator('.note-editor');
    await again.getByText(/Your unsaved draft from .* was restored\./).waitFor();
    assert.equal(await again.getByLabel('What happened').inputValue(), `${NOTE_TEXT}\n${DRAFT_TEXT}`);
    assert.equal(await again.getByLabel('Summary').inputValue(), SUMMARY);
  });

  await step(t, 'after logout nothing of the draft is in localStorage', async () => {
    await logout(volA.page);
    const all = await volA.page.evaluate(() => Object.entries(localStorage));
    assert.deepEqual(all.filter(([k]) => k.startsWith('llamenos.draft')), []);
    assert.ok(!JSON.stringify(all).includes('Draft-Canary'));
    const allowed = ['llamenos.keystore', 'llamenos.prefs', 'llamenos.unlock-attempts', 'llamenos.adminset'];
    assert.deepEqual(all.map(([k]) => k).filter((k) => !allowed.includes(k)), [], 'only the key store, preferences and the admin-set pin stay');
    await login(volA.page, VOL_A.passphrase);
    await heading(volA.page, /^Hello, /);
  });

  await step(t, 'the admin reads the note and the caller number in another browser context', async () => {
    await nav(admin.page, 'Calls');
    const row = admin.page.locator(`tr[data-call-id="${callId}"]`);
    assert.equal(await callerNumberIn(admin.page, callId), CALLER);
    await row.getByRole('link').click();
    await heading(admin.page, 'Call');
    const note = admin.page.locator(`article.note[data-note-id="${noteId}"]`);
    await note.getByText(NOTE_TEXT).waitFor();
    assert.equal(await note.locator('dd[data-field="summary"]').textContent(), SUMMARY);
    assert.equal(await note.locator('dd[data-field="risk"]').textContent(), 'medium');
    assert.match(await note.textContent(), new RegExp(`${VOL_A.name}`));
    assert.equal(await note.getByRole('button', { name: 'Edit' }).count(), 0, 'only the author edits');
  });

  await step(t, 'volunteer B: 404 by id (as if it did not exist), and B\'s own key cannot open the envelope', async () => {
    const r = await apiAs(volB.page, 'GET', `/api/notes/${noteId}`);
    assert.equal(r.status, 404);
    assert.equal((await apiAs(volB.page, 'GET', `/api/calls/${callId}/notes`)).status, 404);
    assert.equal((await apiAs(volB.page, 'GET', `/api/calls/${callId}`)).status, 404);
    const env = (await apiAs(admin.page, 'GET', `/api/notes/${noteId}`)).json.envelope;
    const b = await restoreBackup(await readFile(tmpFile(h, 'b-backup.json'), 'utf8'), keyB);
    assert.deepEqual(openNote(env, { callId, noteId }, b.secretKey), { ok: false, reason: 'notRecipient' });
  });

  await step(t, 'a malformed envelope, or one not sealed to every admin, is refused and nothing stored', async () => {
    const before = (await apiAs(volA.page, 'GET', `/api/calls/${callId}/notes`)).json.notes.length;
    const me = (await apiAs(volA.page, 'GET', '/api/me')).json;
    const id1 = await volA.page.evaluate(() => crypto.randomUUID());
    for (const envelope of ['AAAA', 'not base64url!', '', sealJSON({ text: 'x', fields: {} }, { purpose: 'note', callId, itemId: id1 }, [me.pubkey])]) {
      const r = await apiAs(volA.page, 'POST', `/api/calls/${callId}/notes`, { id: id1, envelope });
      assert.equal(r.status, 400, `refused: ${envelope.slice(0, 12)}`);
    }
    const bad = await apiAs(volA.page, 'PUT', `/api/notes/${noteId}`, { envelope: 'AAAA' });
    assert.equal(bad.status, 400);
    const after = (await apiAs(volA.page, 'GET', `/api/calls/${callId}/notes`)).json.notes;
    assert.equal(after.length, before);
    assert.equal((await apiAs(volA.page, 'GET', `/api/notes/${id1}`)).status, 404);
    const still = (await apiAs(volA.page, 'GET', `/api/notes/${noteId}`)).json;
    assert.equal(still.revision, 1, 'the refused edit changed nothing');
    assert.deepEqual(noteRecipients(me.pubkey, me.admins).length, 2);
  });

  let otherCall;
  let otherNote;
  await step(t, 'a second call and note, for the integrity check', async () => {
    const d = await placeDemoCall(admin.page, 'voice', CALLER);
    otherCall = await answerRing(volA.page);
    const ed = volA.page.locator('.call-panel .note-editor');
    otherNote = await ed.getAttribute('data-note-id');
    await ed.getByLabel('What happened').fill(OTHER_TEXT);
    await ed.getByLabel('Summary').fill('Second call');
    await ed.getByLabel('Risk').selectOption('low');
    await ed.getByRole('button', { name: 'Save note' }).click();
    await ed.getByText('Note saved.').waitFor();
    await volA.page.getByRole('button', { name: 'Hang up' }).click();
    await volA.page.locator('.call-panel .call-status', { hasText: 'You hung up.' }).waitFor();
    await apiAs(admin.page, 'DELETE', `/api/demo/calls/${d.id}`);
  });

  await step(t, 'an envelope moved to another call shows an integrity error, never its text', async () => {
    // The demo daemon plays a compromised server: it copies the second
    // call's note envelope, untouched, into a new note of the first call.
    const r = await apiAs(admin.page, 'POST', '/api/demo/tamper/copy-note', { noteId: otherNote, callId });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const copy = r.json;
    assert.equal(copy.callId, callId);
    assert.notEqual(otherCall, callId);
    for (const [who, page] of [['admin', admin.page], ['author', volA.page]]) {
      await nav(page, 'Calls');
      await page.locator(`tr[data-call-id="${callId}"]`).getByRole('link').click();
      await heading(page, 'Call');
      const card = page.locator(`article.note[data-note-id="${copy.id}"]`);
      await card.locator('.integrity-error').waitFor();
      assert.match(await card.textContent(), /Integrity error/, who);
      assert.equal(await card.getByRole('button', { name: 'Edit' }).count(), 0, `${who}: nothing to edit`);
      assert.ok(!(await page.locator('main').textContent()).includes('Other-Call-Canary'), `${who}: no text of the moved note is shown`);
      // The real note of this call still opens.
      await page.locator(`article.note[data-note-id="${noteId}"]`).getByText(NOTE_TEXT).waitFor();
    }
  });

  for (const c of [admin, volA, volB]) assert.deepEqual(scriptErrors(c), [], 'no script errors in the pages');

  await step(t, 'note text, field values and the caller number appear nowhere the daemon wrote', async () => {
    await h.closeDaemon();
    const canaries = [NOTE_TEXT, SUMMARY, DETAILS, DRAFT_TEXT, OTHER_TEXT, 'Canary-N0te', 'Draft-Canary', CALLER, CALLER.slice(1)];
    assert.deepEqual(await findCanaries(h.dataDir, canaries), []);
    assert.deepEqual(await findCanaries(h.daemonTmp, canaries), []);
    const out = h.daemonLog();
    for (const c of canaries) assert.ok(!out.includes(c), `daemon output contains ${c}`);
  });
});
