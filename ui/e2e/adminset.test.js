// The signed admin set and re-sealing in a real browser.
//
// A volunteer answers a call and writes a note; the admin sees the caller's
// number and the volunteer's profile. A second admin joins: their browser
// cannot read anything written before them until the first admin confirms
// them on the Volunteers screen, which signs the change and re-seals every
// envelope in the first admin's browser (progress bar, audited). The new
// admin then reads the old note, the caller number and the volunteer's
// profile; the note's content bytes are the ones the volunteer's browser
// sealed (a re-seal re-wraps the content key). The first admin removes them again (a signed removal): after the
// re-seal no envelope holds their wrap and their key opens nothing. Last, an
// admin made by editing the database (the demo-only tamper route) is
// refused: the volunteer's next note is not sealed to that key, and the
// page says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poll, startHarness } from './harness.js';
import { apiAs, callerNumberIn, heading, invite, join, login, makeAvailable, nav, placeDemoCall, scheduleEveryoneNow, scriptErrors, setupAdmin, step, tmpFile } from './flows.js';
import { envelopeRecipients, newIdentity, restoreBackup } from '../src/keys.js';
import { b64urlDecode } from '../src/crypto/index.js';
import { openCallerNumber, openNote } from '../src/notes.js';

const rnd = (n) => Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('');
const ADMIN = { name: 'Alma Admin', passphrase: 'first admin set passphrase' };
const ADMIN2 = { name: 'Bruno Admin', passphrase: 'second admin set passphrase' };
const VOL = { name: 'Vida Volunteer', phone: '+1555' + rnd(7), passphrase: 'volunteer admin set pass' };
const CALLER = '+3469' + rnd(7);
const NOTE_TEXT = `Before-Bruno-Canary-${rnd(6)}`;
const LATER_TEXT = `After-Forgery-Canary-${rnd(6)}`;

async function answerRing(page) {
  const card = page.locator('.ring-card');
  await card.waitFor({ timeout: 30000 });
  const callId = await card.getAttribute('data-call-id');
  await card.getByRole('button', { name: 'Answer' }).click();
  await page.locator('.call-panel').waitFor();
  return callId;
}

// watchProgress records whether the re-seal progress bar is ever shown.
function watchProgress(page) {
  return page.evaluate(() => {
    window.__resealProgressSeen = false;
    new MutationObserver(() => {
      if (document.getElementById('reseal-progress')) window.__resealProgressSeen = true;
    }).observe(document.body, { subtree: true, childList: true });
  });
}

// resealDone waits for the re-seal that watchProgress saw start to end: the
// line a previous re-seal left stays until the next one shows its progress
// bar, so the result counts only once the bar was seen and is gone.
async function resealDone(page) {
  await poll(() => page.evaluate(() => window.__resealProgressSeen && !document.getElementById('reseal-progress') && !!document.querySelector('.reseal-result')),
    { timeout: 60000, what: 'a re-seal with a progress bar, finished' });
  const text = (await page.locator('.reseal-result').textContent()).trim();
  assert.match(text, /^Data sealed again for the current admins: [1-9][0-9]*\./, text);
  return text;
}

async function recipientsEverywhere(page, { noteId, callId, volPk }) {
  const note = await apiAs(page, 'GET', `/api/notes/${noteId}`);
  const call = await apiAs(page, 'GET', `/api/calls/${callId}`);
  const vols = await apiAs(page, 'GET', '/api/volunteers');
  const vol = vols.json.volunteers.find((v) => v.pubkey === volPk);
  return {
    note: envelopeRecipients(note.json.envelope),
    callerNumber: envelopeRecipients(call.json.callerNumber),
    profile: envelopeRecipients(vol.profile),
    envelopes: { note: note.json.envelope, callerNumber: call.json.callerNumber, profile: vol.profile },
  };
}

test('admin set: re-seal for a new admin, remove them, refuse a forged one', { timeout: 900000 }, async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const admin = await h.newContext();
  const vol = await h.newContext();
  const admin2 = await h.newContext();
  let volPk;
  let admin2Pk;

  await step(t, 'the first admin sets up; their browser starts the signed admin set', async () => {
    await setupAdmin(h, admin.page, ADMIN);
    const set = await poll(async () => {
      const r = await apiAs(admin.page, 'GET', '/api/me');
      return r.json.adminSet.length === 1 ? r.json.adminSet : null;
    }, { what: 'the first statement' });
    assert.equal(set[0].op, 'add');
    assert.equal(set[0].key, set[0].by);
  });

  let callId;
  let noteId;
  await step(t, 'a volunteer joins, answers a call and writes a note', async () => {
    await join(h, vol.page, await invite(admin.page), VOL);
    volPk = (await apiAs(vol.page, 'GET', '/api/me')).json.pubkey;
    await scheduleEveryoneNow(admin.page, [VOL.name]);
    await makeAvailable(vol.page);
    const demo = await placeDemoCall(admin.page, 'voice', CALLER);
    callId = await answerRing(vol.page);
    const ed = vol.page.locator('.call-panel .note-editor');
    await ed.waitFor();
    noteId = await ed.getAttribute('data-note-id');
    await ed.getByLabel('What happened').fill(NOTE_TEXT);
    await ed.getByRole('button', { name: 'Save note' }).click();
    await ed.getByText('Note saved.').waitFor();
    assert.equal((await apiAs(admin.page, 'DELETE', `/api/demo/calls/${demo.id}`)).status, 204);
    await vol.page.locator('.call-panel .call-status', { hasText: 'The caller hung up.' }).waitFor();
    await vol.page.getByRole('button', { name: 'Close' }).click();
    await nav(admin.page, 'Calls');
    assert.equal(await callerNumberIn(admin.page, callId), CALLER);
  });

  let admin2Key;
  let noteBefore;
  // content: an envelope's content nonce and ciphertext, after the header.
  const content = (env) => {
    const b = b64urlDecode(env);
    return Array.from(b.subarray(2 + 137 * b[1]));
  };
  await step(t, 'a second admin joins; until confirmed they read nothing old and nothing is sealed to them', async () => {
    const recovery = await join(h, admin2.page, await invite(admin.page, 'admin'), ADMIN2, tmpFile(h, 'admin2-backup.json'));
    admin2Key = await restoreBackup(await (await import('node:fs/promises')).readFile(tmpFile(h, 'admin2-backup.json'), 'utf8'), recovery);
    admin2Pk = admin2Key.pubkey;
    // The first admin's browser names the admin it does not seal to.
    await admin.page.reload();
    await login(admin.page, ADMIN.passphrase);
    await admin.page.locator('.adminset-refused').waitFor();
    const r = await recipientsEverywhere(admin.page, { noteId, callId, volPk });
    for (const [what, rec] of Object.entries({ note: r.note, callerNumber: r.callerNumber, profile: r.profile })) {
      assert.ok(!rec.includes(admin2Pk), `${what} is sealed to an admin nobody confirmed`);
    }
    assert.equal(openNote(r.envelopes.note, { callId, noteId }, admin2Key.secretKey).reason, 'notRecipient');
    noteBefore = r.envelopes.note;
  });

  await step(t, 'the first admin confirms them; their browser re-seals everything with a progress bar', async () => {
    await nav(admin.page, 'Volunteers');
    await watchProgress(admin.page);
    await admin.page.getByRole('button', { name: `Confirm ${ADMIN2.name} as admin` }).click();
    await resealDone(admin.page);
    assert.equal(await admin.page.locator('.adminset-refused').count(), 0, 'no admin refused any more');
    const r = await recipientsEverywhere(admin.page, { noteId, callId, volPk });
    assert.ok(r.note.includes(admin2Pk) && r.note.includes(volPk), `note sealed to ${r.note}`);
    assert.equal(b64urlDecode(r.envelopes.note)[0], 2, 'the note is a v2 envelope');
    assert.deepEqual(content(r.envelopes.note), content(noteBefore), 'the re-seal left the note content byte for byte');
    assert.ok(r.callerNumber.includes(admin2Pk), 'caller number re-sealed');
    assert.ok(r.profile.includes(admin2Pk) && r.profile.includes(volPk), 'profile re-sealed');
    const audit = await apiAs(admin.page, 'GET', '/api/audit?action=envelopes.resealed');
    assert.equal(audit.status, 200);
    assert.ok(JSON.stringify(audit.json).includes('envelopes.resealed'), 'the re-seal is audited');
    const left = await apiAs(admin.page, 'GET', '/api/reseal');
    assert.equal(left.json.total, 0);
  });

  await step(t, 'the new admin reads the note, the caller number and the profile written before them', async () => {
    await admin2.page.reload();
    await login(admin2.page, ADMIN2.passphrase);
    await heading(admin2.page, /^Hello, /);
    await admin2.page.goto(`${h.origin}/#/calls/${callId}`);
    await heading(admin2.page, 'Call');
    await admin2.page.locator(`article.note[data-note-id="${noteId}"]`).getByText(NOTE_TEXT).waitFor();
    await nav(admin2.page, 'Calls');
    assert.equal(await callerNumberIn(admin2.page, callId), CALLER);
    await nav(admin2.page, 'Volunteers');
    const row = admin2.page.locator(`tr[data-pubkey="${volPk}"]`);
    assert.equal((await row.locator('.vol-name').textContent()).trim(), VOL.name);
    assert.equal((await row.locator('td[data-label="Phone"]').textContent()).trim(), VOL.phone);
  });

  await step(t, 'the first admin removes them; after the re-seal no envelope holds their wrap', async () => {
    await nav(admin.page, 'Volunteers');
    await watchProgress(admin.page);
    await admin.page.getByRole('button', { name: `Make ${ADMIN2.name} a volunteer` }).click();
    await resealDone(admin.page);
    const me = await apiAs(admin.page, 'GET', '/api/me');
    assert.ok(!me.json.admins.includes(admin2Pk), 'demoted');
    assert.deepEqual(me.json.adminSet.map((s) => s.op), ['add', 'add', 'remove']);
    const r = await recipientsEverywhere(admin.page, { noteId, callId, volPk });
    for (const [what, rec] of Object.entries({ note: r.note, callerNumber: r.callerNumber, profile: r.profile })) {
      assert.ok(!rec.includes(admin2Pk), `${what} still holds the removed admin's wrap`);
    }
    assert.equal(openNote(r.envelopes.note, { callId, noteId }, admin2Key.secretKey).reason, 'notRecipient');
    assert.equal(openCallerNumber(r.envelopes.callerNumber, callId, admin2Key.secretKey).reason, 'notRecipient');
    // The first admin still reads all of it.
    await nav(admin.page, 'Calls');
    assert.equal(await callerNumberIn(admin.page, callId), CALLER);
  });

  await step(t, 'an admin made by editing the database: the next note is not sealed to them, and the page says so', async () => {
    const forged = newIdentity();
    assert.equal((await apiAs(admin.page, 'POST', '/api/demo/tamper/add-admin', { pubkey: forged.pubkey })).status, 204);
    await poll(async () => (await apiAs(vol.page, 'GET', '/api/me')).json.admins.includes(forged.pubkey), { what: 'the server names the forged admin' });
    await vol.page.reload();
    await login(vol.page, VOL.passphrase);
    await heading(vol.page, /^Hello, /);
    await vol.page.locator('.adminset-refused').waitFor();
    assert.match(await vol.page.locator('.adminset-refused').textContent(), /Not sealing anything to 1 admin account/);
    await vol.page.goto(`${h.origin}/#/calls/${callId}`);
    await heading(vol.page, 'Call');
    await vol.page.getByRole('button', { name: 'Write a note' }).click();
    const ed = vol.page.locator('.note-editor').last();
    const laterId = await ed.getAttribute('data-note-id');
    await ed.getByLabel('What happened').fill(LATER_TEXT);
    await ed.getByRole('button', { name: 'Save note' }).click();
    await vol.page.locator(`article.note[data-note-id="${laterId}"]`).getByText(LATER_TEXT).waitFor();
    const n = await apiAs(vol.page, 'GET', `/api/notes/${laterId}`);
    const rec = envelopeRecipients(n.json.envelope);
    assert.ok(!rec.includes(forged.pubkey), 'the note is sealed to the forged admin');
    const firstAdmin = (await apiAs(admin.page, 'GET', '/api/me')).json.pubkey;
    assert.deepEqual(new Set(rec), new Set([volPk, firstAdmin]));
    assert.equal(openNote(n.json.envelope, { callId, noteId: laterId }, forged.secretKey).reason, 'notRecipient');
  });

  for (const c of [admin, vol, admin2]) assert.deepEqual(scriptErrors(c), []);
});
