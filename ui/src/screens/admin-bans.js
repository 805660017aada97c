// Admin: the ban list. The server keeps a keyed hash of each number and an
// envelope only admins can open; the numbers are decrypted here. A ban made
// from a call ("report and ban") carries that call's caller-number envelope;
// one typed here is sealed by this browser to every admin. Lifting a ban
// deletes it.
import { h, button, field } from '../dom.js';
import { normalizeE164, openBan, sealBanNumber, sealBanReason } from '../notes.js';
import { confirmDialog } from './dialog.js';
import { loadPeople } from './people.js';
import { errorText, messageArea, notice, title } from './parts.js';
import { sealingAdmins } from '../adminset.js';

export async function adminBansScreen(ctx) {
  const { t, api, session } = ctx;
  const msg = messageArea();
  const root = h('div', { class: 'stack' }, title(t('bans.title')), h('p', {}, t('bans.intro')), msg.el);
  let people;
  try {
    people = await loadPeople(ctx);
  } catch (err) {
    root.append(notice('error', errorText(t, err)));
    return { title: t('bans.title'), node: root };
  }

  const tbody = h('tbody');
  const count = h('p', { class: 'muted' });

  function cellText(r, render) {
    if (r.ok) return render(r);
    return h('span', { class: 'field-error integrity-error', dataset: { reason: r.reason } }, t(r.reason === 'notRecipient' ? 'integrity.notRecipientShort' : 'integrity.short'));
  }

  function row(b) {
    const o = openBan(b, session.secretKey);
    const label = o.number.ok ? o.number.number : t('bans.thisBan');
    const lift = button(t('bans.lift'), async () => {
      const r = await confirmDialog(ctx, { title: t('bans.liftTitle'), body: t('bans.liftBody', { number: label }), confirmLabel: t('bans.lift') });
      if (!r.ok) return;
      lift.disabled = true;
      try {
        await api.deleteBan(b.id);
        ctx.announce(t('bans.lifted'));
        await load();
        (tbody.querySelector('button') || form.querySelector('input')).focus();
      } catch (err) {
        lift.disabled = false;
        msg.show('error', errorText(t, err));
      }
    }, { kind: 'secondary', 'aria-label': t('bans.liftFor', { number: label }) });
    return h('tr', { dataset: { banId: b.id } },
      h('td', { 'data-label': t('bans.number') }, cellText(o.number, (r) => h('span', { class: 'mono' }, r.number))),
      h('td', { 'data-label': t('bans.reason') }, o.reason ? cellText(o.reason, (r) => r.text) : h('span', { class: 'muted' }, '—')),
      h('td', { 'data-label': t('bans.source') }, b.callId ? h('a', { href: `#/calls/${encodeURIComponent(b.callId)}` }, t('bans.fromCall')) : t('bans.typed')),
      h('td', { 'data-label': t('bans.when') }, ctx.formatTime(b.createdAt), h('br'), h('span', { class: 'muted' }, people.nameOf(b.createdBy))),
      h('td', { 'data-label': t('vol.actions') }, lift));
  }

  async function load() {
    try {
      const { bans } = await api.bans();
      const sorted = [...bans].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
      tbody.replaceChildren(...sorted.map(row));
      count.textContent = sorted.length ? t('bans.count', { n: sorted.length }) : t('bans.none');
    } catch (err) {
      msg.show('error', errorText(t, err));
    }
  }

  const num = field({ label: t('bans.number'), name: 'number', type: 'tel', hint: t('bans.numberHint'), autocomplete: 'off' });
  const reason = field({ label: t('bans.reasonOptional'), name: 'reason', hint: t('ban.reasonHint'), autocomplete: 'off' });
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'ban-add-h' },
    h('h2', { id: 'ban-add-h' }, t('bans.add')), num.wrap, reason.wrap, button(t('bans.addSubmit'), null, { type: 'submit' }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    const n = normalizeE164(num.input.value);
    num.setError(n ? '' : t('bans.badNumber'));
    if (!n) {
      num.input.focus();
      return;
    }
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const me = await api.me();
      const admins = sealingAdmins(me);
      const body = { number: n, sealed: sealBanNumber(n, admins) };
      const why = reason.input.value.trim();
      if (why) body.reason = sealBanReason(why, '', admins);
      await api.addBan(body);
      num.input.value = '';
      reason.input.value = '';
      msg.show('ok', t('bans.addedOk'));
      await load();
    } catch (err) {
      msg.show('error', errorText(t, err));
    } finally {
      btn.disabled = false;
    }
  });

  await load();
  root.append(form, count,
    h('div', { class: 'table-wrap' }, h('table', { class: 'responsive' },
      h('caption', { class: 'visually-hidden' }, t('bans.title')),
      h('thead', {}, h('tr', {}, ...['bans.number', 'bans.reason', 'bans.source', 'bans.when', 'vol.actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
      tbody)));
  return { title: t('bans.title'), node: root };
}
