// Admin: the audit log, newest first, filtered by action, subject kind,
// actor and days, a page at a time; above it, whether the hash chain holds
// and up to which entry. Entries name records by id or hash only; actors
// are shown by the names this browser can decrypt.
import { h, button, field } from '../dom.js';
import { AUDIT_FAMILIES, AUDIT_KINDS, auditQuery, chainStatus } from '../morning.js';
import { loadPeople } from './people.js';
import { errorText, messageArea, notice, title } from './parts.js';

export async function adminAuditScreen(ctx) {
  const { t, api } = ctx;
  const msg = messageArea();
  let people;
  try {
    people = await loadPeople(ctx);
  } catch (err) {
    msg.show('error', errorText(t, err));
    people = { list: [], nameOf: (pk) => pk.slice(0, 12) + '…' };
  }
  const actorName = (a) => (a === 'system' ? t('audit.system') : people.nameOf(a));

  // The chain.
  const chain = h('section', { class: 'card', 'aria-labelledby': 'chain-h', id: 'audit-chain' }, h('h2', { id: 'chain-h' }, t('audit.chain')));
  async function verify() {
    const body = [];
    try {
      const v = await api.auditVerify();
      const s = chainStatus(v);
      body.push(notice(s.ok ? 'ok' : 'error', t(s.key, s.params), { dataset: { chain: s.ok ? 'ok' : 'broken' } }));
      if (v.ok) body.push(h('p', {}, t('audit.head'), ' ', h('code', { class: 'mono', id: 'audit-head' }, v.head)), h('p', { class: 'hint' }, t('audit.headHint')));
      else if (v.problem) body.push(h('p', {}, t('audit.problem'), ' ', h('code', { class: 'mono' }, v.problem)));
    } catch (err) {
      body.push(notice('error', errorText(t, err)));
    }
    chain.replaceChildren(h('h2', { id: 'chain-h' }, t('audit.chain')), ...body,
      button(t('audit.verifyAgain'), () => verify(), { kind: 'secondary' }));
  }

  // Filters.
  const actionList = h('datalist', { id: 'audit-actions' }, ...AUDIT_FAMILIES.map((f) => h('option', { value: f })));
  const action = field({ label: t('audit.action'), name: 'action', hint: t('audit.actionHint'), autocomplete: 'off', attrs: { list: 'audit-actions' } });
  const kindSel = h('select', {}, h('option', { value: '' }, t('audit.anyKind')), ...AUDIT_KINDS.map((k) => h('option', { value: k }, k)));
  const kind = field({ label: t('audit.kind'), name: 'kind', control: kindSel });
  const actorSel = h('select', {}, h('option', { value: '' }, t('calls.anyone')), h('option', { value: 'system' }, t('audit.system')),
    ...people.list.map((p) => h('option', { value: p.pubkey }, people.nameOf(p.pubkey))));
  const actor = field({ label: t('audit.actor'), name: 'actor', control: actorSel });
  const from = field({ label: t('calls.from'), name: 'from', type: 'date' });
  const to = field({ label: t('calls.to'), name: 'to', type: 'date' });
  const form = h('form', { class: 'card filters', 'aria-labelledby': 'audit-filters-h', novalidate: true },
    h('h2', { id: 'audit-filters-h' }, t('calls.filters')),
    h('div', { class: 'filter-row' }, action.wrap, actionList, kind.wrap, actor.wrap),
    h('div', { class: 'filter-row' }, from.wrap, to.wrap),
    h('div', { class: 'row' }, button(t('calls.apply'), null, { type: 'submit' }), button(t('calls.clear'), () => {
      action.input.value = '';
      kindSel.value = '';
      actorSel.value = '';
      from.input.value = '';
      to.input.value = '';
      action.setError('');
      to.setError('');
      load(true);
    }, { kind: 'secondary' })));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load(true);
  });

  // The list.
  const tbody = h('tbody');
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  const more = button(t('calls.more'), () => load(false), { kind: 'secondary', hidden: true });
  let next = '';
  let shown = 0;
  let filter = {};

  function subject(s) {
    const i = s.indexOf(':');
    const kind = s.slice(0, i);
    const value = s.slice(i + 1);
    if (kind === 'call') return h('a', { href: `#/calls/${encodeURIComponent(value)}`, class: 'mono' }, `call:${value.slice(0, 8)}…`);
    if (kind === 'volunteer') return h('span', {}, actorName(value));
    return h('span', { class: 'mono', title: s }, value.length > 16 ? `${kind}:${value.slice(0, 12)}…` : s);
  }

  function row(e) {
    return h('tr', { dataset: { seq: String(e.seq), action: e.action } },
      h('td', { 'data-label': t('audit.seq') }, String(e.seq)),
      h('td', { 'data-label': t('audit.time') }, ctx.formatTime(e.time)),
      h('td', { 'data-label': t('audit.actor') }, actorName(e.actor)),
      h('td', { 'data-label': t('audit.action') }, h('code', {}, e.action)),
      h('td', { 'data-label': t('audit.subjects') }, ...(e.subjects.length ? e.subjects.flatMap((s, i) => (i ? [', ', subject(s)] : [subject(s)])) : ['—'])));
  }

  async function load(reset) {
    if (reset) {
      const q = auditQuery({ action: action.input.value, kind: kindSel.value, actor: actorSel.value, from: from.input.value, to: to.input.value });
      action.setError(q.error === 'audit.badAction' ? t(q.error) : '');
      to.setError(q.error === 'calls.toBeforeFrom' ? t(q.error) : '');
      if (q.error) {
        (q.error === 'audit.badAction' ? action.input : to.input).focus();
        return;
      }
      filter = q.query;
      next = '';
      shown = 0;
      tbody.replaceChildren();
    }
    more.disabled = true;
    try {
      const res = await api.audit({ ...filter, cursor: next, limit: 50 });
      tbody.append(...res.entries.map(row));
      shown += res.entries.length;
      next = res.next || '';
      more.hidden = !next;
      count.textContent = shown ? t('audit.count', { n: shown }) : next ? t('audit.noneYet') : t('audit.none');
    } catch (err) {
      msg.show('error', errorText(t, err));
    } finally {
      more.disabled = false;
    }
  }

  await Promise.all([verify(), load(true)]);
  const table = h('div', { class: 'table-wrap' },
    h('table', { class: 'responsive', id: 'audit-table' },
      h('caption', { class: 'visually-hidden' }, t('audit.title')),
      h('thead', {}, h('tr', {}, ...['audit.seq', 'audit.time', 'audit.actor', 'audit.action', 'audit.subjects'].map((k) => h('th', { scope: 'col' }, t(k))))),
      tbody));
  const node = h('div', { class: 'stack' }, title(t('audit.title')), h('p', {}, t('audit.intro')), msg.el, chain, form, count, table, more);
  return { title: t('audit.title'), node };
}
