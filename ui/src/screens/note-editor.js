// The note editor: free text plus the admin's custom fields, used during a
// call (in the call bar), after it, and from the call history. Values are
// checked against their definitions here, with the message next to the
// field, and nothing is sent while one is wrong. A new note's id is chosen
// before sealing (it is bound into the envelope). While typing, a draft is
// sealed to the writer's own key and kept in localStorage (every few seconds
// and shortly after each change), so a reload or a crash loses nothing; it
// is removed once the note is saved.
import { h, button, uniqueId } from '../dom.js';
import { checkNote, checkValue, inputValue, readInput } from '../fields.js';
import { newNoteId, notePayload, sealNote } from '../notes.js';
import { errorText } from '../errors.js';
import { messageArea, notice } from './parts.js';
import { sealingAdmins } from '../adminset.js';

const DEBOUNCE_MS = 1000;
const AUTOSAVE_MS = 5000;

// constraintHint says what a field accepts, before anyone gets it wrong.
function constraintHint(t, d) {
  const parts = [];
  if (d.required) parts.push(d.type === 'checkbox' ? t('fields.hintMustTick') : t('fields.hintRequired'));
  if (d.type === 'number') {
    const has = (v) => typeof v === 'number';
    if (has(d.min) && has(d.max)) parts.push(t('fields.hintBetween', { min: d.min, max: d.max }));
    else if (has(d.min)) parts.push(t('fields.hintAtLeast', { min: d.min }));
    else if (has(d.max)) parts.push(t('fields.hintAtMost', { max: d.max }));
  }
  if (d.minLength && d.maxLength) parts.push(t('fields.hintLengthBetween', { min: d.minLength, max: d.maxLength }));
  else if (d.minLength) parts.push(t('fields.hintLengthAtLeast', { min: d.minLength }));
  else if (d.maxLength) parts.push(t('fields.hintLengthAtMost', { max: d.maxLength }));
  return parts.join(' · ');
}

// fieldControl builds the labelled control for one definition, wired to its
// hint and error text. → {wrap, read(), write(v), setError(p), focus()}
function fieldControl(t, d, onInput) {
  const id = uniqueId('nf');
  const hintText = constraintHint(t, d);
  const hintId = hintText ? id + '-hint' : null;
  const errId = id + '-err';
  const described = [hintId, errId].filter(Boolean).join(' ');
  const err = h('p', { id: errId, class: 'field-error', hidden: true });
  const hint = hintText ? h('p', { id: hintId, class: 'hint' }, hintText) : null;
  let input;
  let wrap;
  const common = { id, 'aria-describedby': described, dataset: { field: d.id }, on: { input: onInput, change: onInput } };
  if (d.type === 'checkbox') {
    input = h('input', { type: 'checkbox', ...common });
    wrap = h('div', { class: 'check' }, input, h('div', {}, h('label', { for: id }, d.label), hint, err));
  } else {
    if (d.type === 'textarea') input = h('textarea', { rows: '3', ...common });
    else if (d.type === 'select') {
      input = h('select', common, h('option', { value: '' }, t('fields.choose')), ...(d.options || []).map((o) => h('option', { value: o }, o)));
    } else if (d.type === 'number') {
      // Text with a numeric keyboard: a number input would drop what it
      // cannot parse ("3,5" in some browsers), and then we could not say why.
      input = h('input', { type: 'text', inputmode: 'decimal', autocomplete: 'off', ...common });
    } else input = h('input', { type: 'text', autocomplete: 'off', ...common });
    if (d.required) input.setAttribute('aria-required', 'true');
    wrap = h('div', { class: 'field' }, h('label', { for: id }, d.label), hint, input, err);
  }
  return {
    wrap,
    input,
    read: () => readInput(d, d.type === 'checkbox' ? input.checked : input.value),
    write(v) {
      const x = inputValue(d, v);
      if (d.type === 'checkbox') input.checked = x;
      else input.value = x;
    },
    setError(p) {
      err.textContent = p ? t(p.key, p.vars) : '';
      err.hidden = !p;
      if (p) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    },
    focus: () => input.focus(),
  };
}

// createNoteEditor → {el, noteId, flush(), destroy()}.
// opts: callId; note: an existing note {id, revision, payload} to edit;
// noteId: reopen that draft; onSaved(note) after a save.
export async function createNoteEditor(ctx, { callId, note = null, noteId = null, onSaved = () => {}, headingLevel = 'h3' } = {}) {
  const { t, api, session, drafts } = ctx;
  const msg = messageArea();
  let defs = [];
  try {
    defs = (await api.fields()).fields || [];
  } catch (err) {
    msg.show('warn', t('notes.fieldsUnavailable', { error: errorText(t, err) }));
  }
  let editing = !!note;
  let revision = note ? note.revision : 0;
  // A fresh editor for a call picks up a draft of a new note left for it.
  let id = note ? note.id : noteId;
  if (!id) {
    const left = drafts.forCall(callId).map((d) => drafts.load(d.noteId, session.secretKey)).find((d) => d && d.payload && !d.edit);
    id = left ? left.noteId : newNoteId();
  }

  const textId = uniqueId('note-text');
  const textErr = h('p', { id: textId + '-err', class: 'field-error', hidden: true });
  const text = h('textarea', { id: textId, rows: '6', class: 'note-text', 'aria-describedby': textId + '-err', on: { input: changed } });
  const controls = new Map(defs.map((d) => [d.id, fieldControl(t, d, changed)]));
  // Values under ids no longer defined are carried along untouched.
  let extra = {};
  const draftStatus = h('p', { class: 'hint draft-status' });
  const saveBtn = button(editing ? t('notes.saveChanges') : t('notes.save'), null, { type: 'submit' });
  const form = h('form', { class: 'note-editor stack', novalidate: true, dataset: { noteId: id } },
    h(headingLevel, {}, editing ? t('notes.editTitle') : t('notes.newTitle')),
    h('p', { class: 'hint' }, t('notes.private')),
    msg.el,
    h('div', { class: 'field' }, h('label', { for: textId }, t('notes.text')), text, textErr),
    ...[...controls.values()].map((c) => c.wrap),
    h('div', { class: 'row' }, saveBtn),
    draftStatus,
  );

  function fill(payload) {
    text.value = payload.text || '';
    extra = {};
    for (const [k, v] of Object.entries(payload.fields || {})) {
      if (controls.has(k)) controls.get(k).write(v);
      else extra[k] = v;
    }
  }
  function current() {
    const values = { ...extra };
    for (const [k, c] of controls) values[k] = c.read();
    return notePayload(text.value, values);
  }

  if (note) fill(note.payload);
  const d = drafts.load(id, session.secretKey);
  if (d && d.payload) {
    fill(d.payload);
    msg.show('ok', t('notes.draftRestored', { when: ctx.formatTime(d.savedAt) }));
  } else if (d && (d.error === 'notRecipient' || d.error === 'integrity')) {
    // Sealed to another key or damaged: it can never open here.
    drafts.remove(id);
    msg.show('warn', t('notes.draftUnreadable'));
  }

  let dirty = false;
  let debounce = null;
  function saveDraft() {
    if (debounce) clearTimeout(debounce);
    debounce = null;
    if (!dirty || !session.pubkey) return;
    if (drafts.save({ callId, noteId: id, payload: current(), edit: editing, pubkey: session.pubkey })) {
      dirty = false;
      draftStatus.textContent = t('notes.draftSaved', { when: new Intl.DateTimeFormat(ctx.i18n.lang, { timeStyle: 'short' }).format(new Date()) });
    } else {
      draftStatus.textContent = t('notes.draftNotSaved');
    }
  }
  function changed(ev) {
    dirty = true;
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(saveDraft, DEBOUNCE_MS);
    // A field fixed after a refused save loses its message as soon as it is right.
    const f = ev && ev.target && ev.target.dataset ? ev.target.dataset.field : null;
    if (f && controls.has(f)) {
      const c = controls.get(f);
      if (c.input.getAttribute('aria-invalid') === 'true') c.setError(checkValue(defs.find((x) => x.id === f), c.read()));
    }
  }
  const interval = setInterval(saveDraft, AUTOSAVE_MS);
  const onHide = () => saveDraft();
  window.addEventListener('pagehide', onHide);

  let saving = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (saving) return;
    const payload = current();
    const errors = checkNote(defs, payload);
    textErr.textContent = errors.text ? t(errors.text.key, errors.text.vars) : '';
    textErr.hidden = !errors.text;
    let first = errors.text ? text : null;
    for (const [k, c] of controls) {
      c.setError(errors[k]);
      if (errors[k] && !first) first = c.input;
    }
    if (first) {
      msg.show('error', t('notes.fixFields'));
      first.focus();
      return;
    }
    if (!session.unlocked) {
      msg.show('error', t('notes.unlockToSave'));
      return;
    }
    saving = true;
    saveBtn.disabled = true;
    msg.show('', t('notes.saving'));
    try {
      // The admin list is read now, not when the editor opened: a note must
      // reach every admin there is when it is sealed.
      const me = await api.me();
      const envelope = sealNote(payload, { callId, noteId: id, author: session.pubkey, admins: sealingAdmins(me) });
      let saved;
      if (editing) saved = await api.editNote(id, envelope);
      else {
        try {
          saved = await api.createNote(callId, id, envelope);
        } catch (err) {
          // An earlier attempt got through but its answer was lost: edit it.
          if (err.code !== 'conflict') throw err;
          saved = await api.editNote(id, envelope);
        }
      }
      dirty = false;
      if (debounce) clearTimeout(debounce);
      drafts.remove(id);
      editing = true;
      revision = saved && saved.revision ? saved.revision : revision + 1;
      saveBtn.textContent = t('notes.saveChanges');
      draftStatus.textContent = '';
      msg.show('ok', t('notes.saved'));
      ctx.announce(t('notes.saved'));
      onSaved({ ...(saved || {}), id, callId, payload });
    } catch (err) {
      msg.show('error', t('notes.saveFailed', { error: errorText(t, err) }));
    } finally {
      saving = false;
      saveBtn.disabled = false;
    }
  });

  return {
    el: form,
    noteId: id,
    get dirty() {
      return dirty;
    },
    get revision() {
      return revision;
    },
    flush: saveDraft,
    focus: () => text.focus(),
    destroy() {
      saveDraft();
      clearInterval(interval);
      window.removeEventListener('pagehide', onHide);
    },
  };
}

// lockedNotice: what stands in for the editor while the key is locked.
export function lockedNotice(t) {
  return notice('warn', t('notes.unlockToWrite'));
}
