// Admin: create single-use invite links and revoke pending ones. The code is
// shown once, right after creation; the server keeps only its hash.
import { h, field, button, busy } from '../dom.js';
import { copyText, errorText, messageArea, notice, title } from './parts.js';
import { loadPeople } from './people.js';

export const INVITE_TTLS = [24, 72, 168];

export function inviteLink(origin, code) {
  return `${origin}/#/invite/${encodeURIComponent(code)}`;
}

export async function adminInvitesScreen(ctx) {
  const { t, api } = ctx;
  const msg = messageArea();
  const created = h('div', { class: 'stack' });

  const role = h('select', { id: 'invite-role', name: 'role' },
    h('option', { value: 'volunteer' }, t('role.volunteer')),
    h('option', { value: 'admin' }, t('role.admin')));
  const ttl = h('select', { id: 'invite-ttl', name: 'ttl' },
    ...INVITE_TTLS.map((hrs) => h('option', { value: String(hrs), selected: hrs === 168 }, t('invites.validFor', { days: hrs / 24 }))));
  const form = h('form', { class: 'card stack', novalidate: true, 'aria-labelledby': 'new-invite-h' },
    h('h2', { id: 'new-invite-h' }, t('invites.create')),
    h('div', { class: 'field' }, h('label', { for: 'invite-role' }, t('invites.role')), role),
    h('div', { class: 'field' }, h('label', { for: 'invite-ttl' }, t('invites.validity')), ttl),
    button(t('invites.submit'), null, { type: 'submit' }),
    created);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    await busy(form, async () => {
      try {
        const inv = await api.createInvite(role.value, Number(ttl.value));
        const link = inviteLink(location.origin, inv.code);
        const out = field({ label: t('invites.link'), name: 'invite-link', value: link, hint: t('invites.linkHint'), attrs: { readonly: true, spellcheck: 'false' } });
        out.input.classList.add('mono');
        const copy = button(t('invites.copy'), async () => {
          const ok = await copyText(link, out.input);
          ctx.announce(ok ? t('common.copied') : t('invites.copyManually'));
        }, { kind: 'secondary' });
        created.replaceChildren(notice('ok', t('invites.created', { role: t(inv.role === 'admin' ? 'role.admin' : 'role.volunteer') })), out.wrap, copy);
        out.input.focus();
        out.input.select();
        await load();
      } catch (err) {
        msg.show('error', errorText(t, err));
      }
    });
  });

  const tbody = h('tbody');
  async function load() {
    try {
      const [{ invites }, people] = await Promise.all([api.invites(), loadPeople(ctx)]);
      const now = Date.now();
      const pending = invites.filter((i) => !i.usedAt && !i.revokedAt && Date.parse(i.expiresAt) > now);
      tbody.replaceChildren(
        ...(pending.length
          ? pending.map((i) =>
              h('tr', {},
                h('td', { 'data-label': t('invites.role') }, t(i.role === 'admin' ? 'role.admin' : 'role.volunteer')),
                h('td', { 'data-label': t('invites.createdAt') }, ctx.formatTime(i.createdAt), h('br'), h('span', { class: 'muted' }, /^[0-9a-f]{64}$/.test(i.createdBy) ? people.nameOf(i.createdBy) : '')),
                h('td', { 'data-label': t('invites.expiresAt') }, ctx.formatTime(i.expiresAt)),
                h('td', {}, button(t('invites.revoke'), async (ev) => {
                  ev.target.disabled = true;
                  try {
                    await api.deleteInvite(i.id);
                    ctx.announce(t('invites.revoked'));
                    await load();
                  } catch (err) {
                    ev.target.disabled = false;
                    msg.show('error', errorText(t, err));
                  }
                }, { kind: 'secondary' }))))
          : [h('tr', {}, h('td', { colspan: '4', class: 'muted' }, t('invites.none')))]),
      );
    } catch (err) {
      msg.show('error', errorText(t, err));
    }
  }
  await load();

  const node = h('div', { class: 'stack' },
    title(t('invites.title')),
    msg.el,
    form,
    h('section', { 'aria-labelledby': 'pending-h' },
      h('h2', { id: 'pending-h' }, t('invites.pending')),
      h('div', { class: 'table-wrap' }, h('table', { class: 'responsive' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('invites.role')), h('th', { scope: 'col' }, t('invites.createdAt')), h('th', { scope: 'col' }, t('invites.expiresAt')), h('th', { scope: 'col' }, t('vol.actions')))),
        tbody))));
  return { title: t('invites.title'), node };
}
