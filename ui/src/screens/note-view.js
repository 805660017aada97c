// Reading notes: a decrypted payload as text and a list of field values, and
// the one way to show an envelope that did not open. An integrity error is
// said plainly and nothing of the envelope is shown: an envelope moved to
// another call or note does not open there, and we never fall back to
// showing it anyway.
import { h } from '../dom.js';
import { formatValue } from '../fields.js';
import { tk } from '../i18n.js';
import { notice } from './parts.js';

const FAILURE = {
  integrity: tk('integrity.error'),
  notRecipient: tk('integrity.notRecipient'),
  locked: tk('integrity.locked'),
  missing: tk('integrity.missing'),
};

export function failureText(t, reason) {
  return t(FAILURE[reason] || FAILURE.integrity);
}

export function integrityNotice(t, reason) {
  return notice(reason === 'locked' ? 'warn' : 'error', failureText(t, reason), { class: ['notice', reason === 'locked' ? 'warn' : 'error', 'integrity-error'], dataset: { reason } });
}

export function notePayloadView(t, payload, defs) {
  const byId = new Map((defs || []).map((d) => [d.id, d]));
  const rows = [];
  for (const d of defs || []) {
    if (!(d.id in payload.fields)) continue;
    rows.push(h('dt', {}, d.label), h('dd', { dataset: { field: d.id } }, formatValue(d, payload.fields[d.id], t)));
  }
  for (const [k, v] of Object.entries(payload.fields)) {
    if (byId.has(k)) continue;
    rows.push(h('dt', {}, t('notes.removedField', { id: k })), h('dd', { dataset: { field: k } }, formatValue(null, v, t)));
  }
  return h('div', { class: 'note-body' },
    payload.text ? h('p', { class: 'note-text-view' }, payload.text) : h('p', { class: 'muted' }, t('notes.noText')),
    rows.length ? h('dl', { class: 'status-grid note-fields' }, ...rows) : null);
}
