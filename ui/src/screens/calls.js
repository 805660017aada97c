// Call history and one call's page. A volunteer sees the calls they
// answered (the server enforces it) with their notes; an admin sees every
// call with filters and paging, every note, each note's earlier versions,
// and the caller's number — all decrypted here, in the browser. Anything
// that does not open under its own context is shown as an integrity error.
import { h, button, field } from '../dom.js';
import { dateHint, parseDate } from '../dates.js';
import { tk } from '../i18n.js';
import { elapsed } from '../ring.js';
import { newNoteId, openCallerNumber, openNote } from '../notes.js';
import { EXPORT_TYPE, collectPages, exportFilename, toCSV, toJSONExport } from '../export.js';
import { openExport, sealExport } from '../keys.js';
import { createNoteEditor, lockedNotice } from './note-editor.js';
import { integrityNotice, notePayloadView } from './note-view.js';
import { loadPeople } from './people.js';
import { downloadText, errorText, messageArea, notice, title } from './parts.js';
import { transcriptSection } from './transcript.js';

export const OUTCOMES = {
  in_progress: tk('outcome.inProgress'),
  answered: tk('outcome.answered'),
  abandoned: tk('outcome.abandoned'),
  unanswered: tk('outcome.unanswered'),
  voicemail: tk('outcome.voicemail'),
  banned: tk('outcome.banned'),
  rate_limited: tk('outcome.rateLimited'),
  failed: tk('outcome.failed'),
};

const outcomeText = (t, o) => (OUTCOMES[o] ? t(OUTCOMES[o]) : o);
const ms = (v) => (typeof v === 'number' && v > 0 ? elapsed(v) : '—');

// callerCell: the decrypted number for an admin, or why it cannot be shown.
function callerView(ctx, call) {
  const { t, session } = ctx;
  if (!call.callerNumber) return h('span', { class: 'muted' }, '—');
  const r = openCallerNumber(call.callerNumber, call.id, session.secretKey);
  if (r.ok) return h('span', { class: 'mono caller-number' }, r.number);
  return h('span', { class: 'field-error integrity-error', dataset: { reason: r.reason } }, t(r.reason === 'notRecipient' ? 'integrity.notRecipientShort' : 'integrity.short'));
}

// ---- the list ----

export async function callsScreen(ctx) {
  const { t, api, session, drafts } = ctx;
  const admin = session.role === 'admin';
  const msg = messageArea();
  let people;
  try {
    people = await loadPeople(ctx);
  } catch (err) {
    msg.show('error', errorText(t, err));
    people = { list: [], nameOf: (pk) => pk.slice(0, 12) + '…', plainName: (pk) => pk.slice(0, 12) + '…' };
  }

  // Filters.
  // Text fields read in the app's language: a native date input would
  // follow the browser's instead.
  const lang = ctx.i18n.lang;
  const format = dateHint(lang, { day: t('dates.day'), month: t('dates.month'), year: t('dates.year') });
  const dateInput = (key, name) => field({
    label: t(key), name, hint: t('calls.dateHint', { format }),
    attrs: { inputmode: 'numeric', placeholder: format, autocomplete: 'off', size: '12', class: 'date-input' },
  });
  const from = dateInput('calls.from', 'from');
  const to = dateInput('calls.to', 'to');
  // readDates → {from, to} as YYYY-MM-DD ('' when empty), or null after
  // marking the fields in error.
  const readDates = () => {
    const f = parseDate(from.input.value, lang);
    const e = parseDate(to.input.value, lang);
    from.setError(f === null ? t('calls.dateInvalid', { format }) : '');
    to.setError(e === null ? t('calls.dateInvalid', { format }) : f && e && f > e ? t('calls.toBeforeFrom') : '');
    const bad = [from, to].find((x) => x.input.getAttribute('aria-invalid') === 'true');
    if (bad) {
      bad.input.focus();
      return null;
    }
    return { from: f, to: e };
  };
  let dates = { from: '', to: '' };
  const volSel = h('select', { id: 'calls-volunteer' }, h('option', { value: '' }, t('calls.anyone')),
    ...people.list.map((p) => h('option', { value: p.pubkey }, people.plainName(p.pubkey))));
  const hasNote = h('input', { type: 'checkbox', id: 'calls-has-note' });
  const filterForm = h('form', { class: 'card filters', 'aria-labelledby': 'filters-h', novalidate: true },
    h('h2', { id: 'filters-h' }, t('calls.filters')),
    h('div', { class: 'filter-row' }, from.wrap, to.wrap,
      admin ? h('div', { class: 'field' }, h('label', { for: 'calls-volunteer' }, t('calls.volunteer')), volSel) : null),
    h('div', { class: 'check' }, hasNote, h('label', { for: 'calls-has-note' }, t('calls.hasNote'))),
    h('div', { class: 'row' }, button(t('calls.apply'), null, { type: 'submit' }), button(t('calls.clear'), () => {
      from.input.value = '';
      to.input.value = '';
      from.setError('');
      to.setError('');
      dates = { from: '', to: '' };
      volSel.value = '';
      hasNote.checked = false;
      load(true);
    }, { kind: 'secondary' })));
  filterForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const d = readDates();
    if (!d) return;
    dates = d;
    load(true);
  });

  // Table.
  const tbody = h('tbody');
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  const more = button(t('calls.more'), () => load(false), { kind: 'secondary', hidden: true });
  let next = '';
  let shown = 0;

  function row(c) {
    const draft = drafts.forCall(c.id).length > 0;
    return h('tr', { dataset: { callId: c.id } },
      h('td', { 'data-label': t('calls.started') }, h('a', { href: `#/calls/${encodeURIComponent(c.id)}` }, ctx.formatTime(c.startedAt))),
      h('td', { 'data-label': t('calls.outcome') }, outcomeText(t, c.outcome)),
      h('td', { 'data-label': t('calls.waited') }, ms(c.queueWaitMs)),
      h('td', { 'data-label': t('calls.duration') }, ms(c.durationMs)),
      admin ? h('td', { 'data-label': t('calls.answeredBy') }, c.answeredBy ? people.nameOf(c.answeredBy) : '—') : null,
      admin ? h('td', { 'data-label': t('calls.caller') }, callerView(ctx, c)) : null,
      h('td', { 'data-label': t('calls.note') }, c.hasNote ? t('common.yes') : t('common.no'), draft ? h('span', { class: 'badge' }, ' ', t('calls.draftBadge')) : null));
  }

  async function load(reset) {
    if (reset) {
      next = '';
      shown = 0;
      tbody.replaceChildren();
    }
    more.disabled = true;
    try {
      const res = await api.calls({
        cursor: next,
        from: dates.from,
        to: dates.to,
        volunteer: admin ? volSel.value : '',
        hasNote: hasNote.checked,
      });
      const list = res.calls || [];
      tbody.append(...list.map(row));
      shown += list.length;
      next = res.next || '';
      more.hidden = !next;
      count.textContent = shown ? t('calls.count', { n: shown }) : t('calls.none');
    } catch (err) {
      msg.show('error', errorText(t, err));
    } finally {
      more.disabled = false;
    }
  }
  await load(true);

  const headers = ['calls.started', 'calls.outcome', 'calls.waited', 'calls.duration', ...(admin ? ['calls.answeredBy', 'calls.caller'] : []), 'calls.note'];
  const table = h('div', { class: 'table-wrap' },
    h('table', { class: 'responsive' },
      h('caption', { class: 'visually-hidden' }, t('calls.title')),
      h('thead', {}, h('tr', {}, ...headers.map((k) => h('th', { scope: 'col' }, t(k))))),
      tbody));

  const node = h('div', { class: 'stack' },
    title(t('calls.title')),
    h('p', {}, admin ? t('calls.introAdmin') : t('calls.introVolunteer')),
    msg.el,
    draftsCard(ctx),
    filterForm,
    count,
    table,
    more,
    exportCard(ctx, people));
  return { title: t('calls.title'), node };
}

// draftsCard lists the note drafts kept on this device (they survive a
// reload or a crash), each with a link to its call.
function draftsCard(ctx) {
  const { t, drafts } = ctx;
  const list = drafts.list();
  if (!list.length) return null;
  return h('section', { class: 'card', 'aria-labelledby': 'drafts-h' },
    h('h2', { id: 'drafts-h' }, t('drafts.title')),
    h('p', { class: 'hint' }, t('drafts.explain')),
    h('ul', {}, ...list.map((d) => h('li', {}, h('a', { href: `#/calls/${encodeURIComponent(d.callId)}` }, t('drafts.item', { when: ctx.formatTime(d.savedAt) }))))));
}

// ---- export ----

function exportCard(ctx, people) {
  const { t, api, session } = ctx;
  const admin = session.role === 'admin';
  const msg = messageArea();

  async function rowsFor(author, defs) {
    const notes = await collectPages(async (cursor) => {
      const r = await api.notes({ cursor, author: admin ? author : '', limit: 200 });
      return { items: r.notes || [], next: r.next || '' };
    });
    return notes.map((n) => ({
      id: n.id,
      callId: n.callId,
      author: n.author,
      authorName: people.plainName(n.author),
      createdAt: n.createdAt,
      updatedAt: n.updatedAt,
      revision: n.revision,
      opened: openNote(n.envelope, { callId: n.callId, noteId: n.id }, session.secretKey),
    }));
  }

  async function collect(scope) {
    const defs = (await api.fields()).fields || [];
    let rows;
    if (scope === 'all') {
      rows = [];
      for (const p of people.list) rows.push(...(await rowsFor(p.pubkey, defs)));
    } else rows = await rowsFor(session.pubkey, defs);
    rows.sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
    return { rows, defs };
  }

  // format: sealed (the default: JSON sealed to this account's key), json
  // or csv (plain text, offered only behind the warning below).
  async function run(scope, format, btn) {
    msg.show('', t('export.working'));
    btn.disabled = true;
    try {
      const { rows, defs } = await collect(scope);
      const json = () => toJSONExport(rows, defs, { exportedAt: new Date().toISOString(), hotline: ctx.config.hotlineName || '' });
      if (format === 'csv') downloadText(exportFilename(scope, 'csv'), toCSV(rows, defs), 'text/csv;charset=utf-8');
      else if (format === 'json') downloadText(exportFilename(scope, 'json'), json());
      else downloadText(exportFilename(scope, 'sealed.json'), sealExport(json(), session.pubkey));
      const bad = rows.filter((r) => !r.opened.ok).length;
      msg.show(bad ? 'warn' : 'ok', bad ? t('export.doneWithErrors', { n: rows.length, bad }) : t('export.done', { n: rows.length }));
    } catch (err) {
      msg.show('error', errorText(t, err));
    } finally {
      btn.disabled = btn.dataset.plain === '1' && !understood.checked;
    }
  }

  const understood = h('input', { type: 'checkbox', id: 'export-plain-ok' });
  const mk = (scope, format, key) => {
    const b = button(t(key), () => run(scope, format, b), { kind: format === 'sealed' ? 'primary' : 'secondary' });
    if (format !== 'sealed') {
      b.dataset.plain = '1';
      b.disabled = true;
    }
    return b;
  };
  const plainButtons = [mk('mine', 'json', 'export.mineJSON'), mk('mine', 'csv', 'export.mineCSV')];
  if (admin) plainButtons.push(mk('all', 'json', 'export.allJSON'), mk('all', 'csv', 'export.allCSV'));
  understood.addEventListener('change', () => {
    for (const b of plainButtons) b.disabled = !understood.checked;
  });
  return h('section', { class: 'card stack', 'aria-labelledby': 'export-h' },
    h('h2', { id: 'export-h' }, t('export.title')),
    h('p', {}, t('export.explain')),
    msg.el,
    h('div', { class: 'row' }, mk('mine', 'sealed', 'export.mineSealed'), admin ? mk('all', 'sealed', 'export.allSealed') : null),
    exportViewer(ctx),
    h('details', { class: 'stack' },
      h('summary', {}, t('export.plainTitle')),
      notice('warn', t('export.warning')),
      h('div', { class: 'check' }, understood, h('label', { for: 'export-plain-ok' }, t('export.plainConfirm'))),
      h('div', { class: 'row' }, ...plainButtons.slice(0, 2)),
      admin ? h('div', { class: 'row' }, ...plainButtons.slice(2)) : null));
}

// exportViewer opens an encrypted export file here, in the browser, and
// shows its notes; nothing of it goes to the server.
const MAX_EXPORT_BYTES = 64 * 1024 * 1024;

function exportViewer(ctx) {
  const { t, session } = ctx;
  const msg = messageArea();
  const file = field({ label: t('export.openFile'), name: 'export-file', type: 'file', attrs: { accept: '.json,application/json' } });
  const out = h('div', { class: 'stack', id: 'export-view' });
  const openBtn = button(t('export.open'), async () => {
    msg.clear();
    out.replaceChildren();
    const f = file.input.files && file.input.files[0];
    if (!f) {
      file.setError(t('restore.fileMissing'));
      file.input.focus();
      return;
    }
    file.setError('');
    if (f.size > MAX_EXPORT_BYTES) {
      msg.show('error', t('export.openNotExport'));
      return;
    }
    const r = openExport(await f.text(), session.secretKey);
    let doc = null;
    if (r.ok) {
      try {
        doc = JSON.parse(r.text);
      } catch {
        doc = null;
      }
    }
    if (!r.ok || !doc || doc.type !== EXPORT_TYPE || !Array.isArray(doc.notes)) {
      const reason = r.ok ? 'integrity' : r.reason;
      msg.show('error', t(reason === 'file' ? 'export.openNotExport' : reason === 'notRecipient' ? 'export.openNotYours' : 'export.openDamaged'));
      return;
    }
    msg.show('ok', t('export.opened', { n: doc.notes.length, when: ctx.formatTime(doc.exportedAt) }));
    out.replaceChildren(...doc.notes.map((n) => h('article', { class: 'card note', dataset: { noteId: String(n.id) } },
      h('p', { class: 'muted' }, t('export.noteHeader', { when: ctx.formatTime(n.createdAt), who: n.authorName || String(n.author).slice(0, 12) })),
      n.error ? integrityNotice(t, n.error) : notePayloadView(t, { text: n.text || '', fields: n.fields || {} }, doc.fields))));
  }, { kind: 'secondary' });
  return h('div', { class: 'stack' }, h('h3', {}, t('export.openTitle')), file.wrap, openBtn, msg.el, out);
}

// ---- one call ----

export async function callScreen(ctx, { id }) {
  const { t, api, session, drafts } = ctx;
  const admin = session.role === 'admin';
  const root = h('div', { class: 'stack' }, title(t('callPage.title')));
  const msg = messageArea();
  root.append(msg.el);
  let call;
  let people;
  let defs = [];
  try {
    [call, people, defs] = await Promise.all([api.call(id), loadPeople(ctx), api.fields().then((r) => r.fields || [], () => [])]);
  } catch (err) {
    root.append(notice('error', errorText(t, err)), h('a', { href: '#/calls' }, t('callPage.back')));
    return { title: t('callPage.title'), node: root };
  }
  const mine = call.answeredBy === session.pubkey;
  const editors = new Set();

  const dl = h('dl', { class: 'status-grid' },
    h('dt', {}, t('calls.started')), h('dd', {}, ctx.formatTime(call.startedAt)),
    call.answeredAt ? [h('dt', {}, t('callPage.answeredAt')), h('dd', {}, ctx.formatTime(call.answeredAt))] : null,
    call.endedAt ? [h('dt', {}, t('callPage.endedAt')), h('dd', {}, ctx.formatTime(call.endedAt))] : null,
    h('dt', {}, t('calls.outcome')), h('dd', { class: 'call-outcome' }, outcomeText(t, call.outcome)),
    h('dt', {}, t('calls.waited')), h('dd', {}, ms(call.queueWaitMs)),
    h('dt', {}, t('calls.duration')), h('dd', {}, ms(call.durationMs)),
    h('dt', {}, t('calls.answeredBy')), h('dd', {}, call.answeredBy ? people.nameOf(call.answeredBy) : '—'),
    admin ? [h('dt', {}, t('calls.caller')), h('dd', {}, callerView(ctx, call))] : null);

  const banBtn = (admin || mine) && call.outcome !== 'banned'
    ? button(t('call.reportBan'), async () => {
        const r = await ctx.reportAndBan(call.id);
        if (r === 'banned') {
          banBtn.remove();
          msg.show('ok', t('ban.done'));
        } else if (r === 'failed') msg.show('error', t('ban.failed'));
        else if (r === 'withheld') msg.show('warn', t('ban.withheld'));
      }, { kind: 'secondary' })
    : null;

  root.append(
    h('section', { class: 'card', 'aria-labelledby': 'call-meta-h' }, h('h2', { id: 'call-meta-h', class: 'visually-hidden' }, t('callPage.details')), dl,
      h('div', { class: 'row' }, banBtn, h('a', { href: '#/calls', class: 'btn btn-link' }, t('callPage.back')))));

  // Notes.
  const notesEl = h('div', { class: 'stack notes' });
  const newSlot = h('div', { class: 'stack' });
  const notesMsg = messageArea();
  root.append(h('section', { 'aria-labelledby': 'notes-h', class: 'stack' }, h('h2', { id: 'notes-h' }, t('notes.title')), notesMsg.el, notesEl, newSlot));
  if (call.transcribed) root.append(await transcriptSection(ctx, call));

  async function editorInto(slot, opts) {
    if (!session.unlocked) {
      slot.replaceChildren(lockedNotice(t));
      return null;
    }
    const ed = await createNoteEditor(ctx, { callId: call.id, headingLevel: 'h3', ...opts });
    editors.add(ed);
    slot.replaceChildren(ed.el);
    return ed;
  }

  function historyView(note, slot, btn) {
    btn.disabled = true;
    api.note(note.id).then(
      (full) => {
        const revs = (full.history || []).slice().sort((a, b) => b.revision - a.revision);
        slot.replaceChildren(h('section', { class: 'history stack', 'aria-label': t('notes.history') },
          h('h4', {}, t('notes.history')),
          revs.length ? null : h('p', { class: 'muted' }, t('notes.noHistory')),
          ...revs.map((r) => {
            const o = openNote(r.envelope, { callId: call.id, noteId: note.id }, session.secretKey);
            return h('div', { class: 'revision', dataset: { revision: String(r.revision) } },
              h('p', { class: 'muted' }, t('notes.revision', { n: r.revision, written: ctx.formatTime(r.writtenAt), replaced: ctx.formatTime(r.replacedAt) })),
              o.ok ? notePayloadView(t, o.payload, defs) : integrityNotice(t, o.reason));
          })));
        btn.remove();
      },
      (err) => {
        btn.disabled = false;
        notesMsg.show('error', errorText(t, err));
      },
    );
  }

  function noteCard(note) {
    const o = openNote(note.envelope, { callId: call.id, noteId: note.id }, session.secretKey);
    const body = h('div', {}, o.ok ? notePayloadView(t, o.payload, defs) : integrityNotice(t, o.reason));
    const histSlot = h('div');
    const actions = h('div', { class: 'row' });
    const card = h('article', { class: 'card note', dataset: { noteId: note.id }, 'aria-label': t('notes.by', { name: people.nameOf(note.author) }) },
      h('p', { class: 'muted' },
        t('notes.meta', { name: people.nameOf(note.author), when: ctx.formatTime(note.createdAt) }),
        note.revision > 1 ? [' · ', t('notes.edited', { when: ctx.formatTime(note.updatedAt) })] : null),
      body, actions, histSlot);
    if (note.author === session.pubkey && o.ok) {
      const edit = button(t('notes.edit'), async () => {
        edit.hidden = true;
        const ed = await editorInto(body, { note: { id: note.id, revision: note.revision, payload: o.payload }, onSaved: () => reload() });
        if (ed) ed.focus();
      }, { kind: 'secondary' });
      actions.append(edit);
      // A draft of an edit left on this device reopens the editor.
      if (drafts.load(note.id, session.secretKey)?.edit) edit.click();
    }
    if (note.revision > 1) {
      const hb = button(t('notes.showHistory'), () => historyView(note, histSlot, hb), { kind: 'link' });
      actions.append(hb);
    }
    return card;
  }

  async function reload() {
    for (const ed of editors) ed.destroy();
    editors.clear();
    newSlot.replaceChildren();
    try {
      const { notes } = await api.callNotes(call.id);
      notes.sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
      notesEl.replaceChildren(...(notes.length ? notes.map(noteCard) : [h('p', { class: 'muted' }, t('notes.none'))]));
    } catch (err) {
      notesMsg.show('error', errorText(t, err));
    }
    if (mine) {
      // Drafts of new notes for this call first (restored), then a button.
      const ids = new Set([...notesEl.querySelectorAll('[data-note-id]')].map((e) => e.dataset.noteId));
      const pending = drafts.forCall(call.id).filter((d) => !ids.has(d.noteId));
      for (const d of pending) {
        const slot = h('div', { class: 'card' });
        newSlot.append(slot);
        await editorInto(slot, { noteId: d.noteId, onSaved: () => reload() });
      }
      const write = button(t('notes.write'), async () => {
        write.remove();
        const slot = h('div', { class: 'card' });
        newSlot.append(slot);
        const ed = await editorInto(slot, { noteId: newNoteId(), onSaved: () => reload() });
        if (ed) ed.focus();
      }, { kind: 'primary' });
      newSlot.append(write);
    }
  }
  await reload();

  return {
    title: t('callPage.title'),
    node: root,
    cleanup() {
      for (const ed of editors) ed.destroy();
    },
  };
}
