// Admin: everyone who has an account. Names and phones are decrypted here,
// in the browser, from each profile envelope; the server only has envelopes.
import { h, button } from '../dom.js';
import { npub, openProfile } from '../keys.js';
import { errorText, messageArea, title } from './parts.js';
import { confirmDialog } from './dialog.js';
import { ADMIN_ADD, ADMIN_REMOVE, statement, trust } from '../adminset.js';

export async function adminVolunteersScreen(ctx) {
  const { t, api, session } = ctx;
  const msg = messageArea();
  const tbody = h('tbody');
  const count = h('p', { class: 'muted' });

  function statusText(v) {
    if (!v.active) return t('vol.inactive');
    const parts = [];
    if (v.onCall) parts.push(t('vol.onCall'));
    else if (v.available && v.onBreak) parts.push(t('vol.onBreak'));
    else if (v.available) parts.push(t('vol.available'));
    else parts.push(t('vol.unavailable'));
    if (v.onShift) parts.push(t('vol.onShift'));
    return parts.join(' · ');
  }

  // sign adds or removes v in the signed admin set, from this browser's
  // key, and takes the server's new view of it at once.
  async function sign(op, v) {
    await api.postAdminSet(statement(session.me, op, v.pubkey, session.secretKey));
    session.setMe(await api.me());
  }

  // patch changes a role or access. Whom envelopes are sealed to follows
  // the signed admin set, so making someone an admin also vouches for
  // them, and an admin the set vouches for leaves it by a signed removal
  // (which makes them a volunteer) before being deactivated.
  async function patch(v, body, okKey, btn) {
    btn.disabled = true;
    try {
      const vouched = trust(session.me).vouched.includes(v.pubkey);
      if (vouched && (body.role === 'volunteer' || body.active === false)) await sign(ADMIN_REMOVE, v);
      if (body.role !== 'volunteer' || !vouched) await api.patchVolunteer(v.pubkey, body);
      if (body.role === 'admin') await sign(ADMIN_ADD, v);
      ctx.announce(t(okKey, { name: v.displayName }));
      await load(v.pubkey);
    } catch (err) {
      btn.disabled = false;
      msg.show('error', errorText(t, err));
    }
  }

  function row(v) {
    const self = v.pubkey === session.pubkey;
    // An admin by role the signed admin set does not vouch for: nothing is
    // sealed to them until an admin confirms them.
    const unvouched = v.role === 'admin' && v.active && !trust(session.me).vouched.includes(v.pubkey);
    const p = openProfile(v.profile, v.pubkey, session.secretKey);
    v.displayName = p ? p.name : t('common.cannotDecrypt');
    const nameCell = h('td', { 'data-label': t('vol.name') },
      p ? h('span', { class: 'vol-name' }, p.name) : h('span', { class: 'muted vol-name' }, t('common.cannotDecrypt')),
      self ? h('span', { class: 'muted' }, ' ', t('vol.you')) : null,
      h('br'),
      h('span', { class: 'muted mono', title: v.pubkey }, npub(v.pubkey).slice(0, 16) + '…'));
    const buttons = h('div', { class: 'row' });
    const actions = h('td', { 'data-label': t('vol.actions') }, buttons);
    if (!self) {
      const roleBtn = button(t(v.role === 'admin' ? 'vol.makeVolunteer' : 'vol.makeAdmin'), () =>
        patch(v, { role: v.role === 'admin' ? 'volunteer' : 'admin' }, 'vol.roleChanged', roleBtn),
        { kind: 'secondary', 'aria-label': t(v.role === 'admin' ? 'vol.makeVolunteerFor' : 'vol.makeAdminFor', { name: v.displayName }) });
      const actBtn = button(t(v.active ? 'vol.deactivate' : 'vol.reactivate'), () =>
        patch(v, { active: !v.active }, v.active ? 'vol.deactivated' : 'vol.reactivated', actBtn),
        { kind: v.active ? 'danger' : 'secondary', 'aria-label': t(v.active ? 'vol.deactivateFor' : 'vol.reactivateFor', { name: v.displayName }) });
      buttons.append(roleBtn, actBtn);
      if (unvouched) {
        const vouchBtn = button(t('vol.vouch'), async () => {
          vouchBtn.disabled = true;
          try {
            await sign(ADMIN_ADD, v);
            ctx.announce(t('vol.vouched', { name: v.displayName }));
            await load(v.pubkey);
          } catch (err) {
            vouchBtn.disabled = false;
            msg.show('error', errorText(t, err));
          }
        }, { kind: 'primary', 'aria-label': t('vol.vouchFor', { name: v.displayName }) });
        buttons.prepend(vouchBtn);
      }
      if (!v.active) {
        // Only a deactivated account can be deleted; its calls and notes stay.
        const delBtn = button(t('vol.delete'), async () => {
          const r = await confirmDialog(ctx, { title: t('vol.deleteTitle', { name: v.displayName }), body: t('vol.deleteBody'), confirmLabel: t('vol.delete') });
          if (!r.ok) return;
          delBtn.disabled = true;
          try {
            await api.deleteVolunteer(v.pubkey);
            ctx.announce(t('vol.deleted', { name: v.displayName }));
            await load();
          } catch (err) {
            delBtn.disabled = false;
            msg.show('error', errorText(t, err));
          }
        }, { kind: 'danger', 'aria-label': t('vol.deleteFor', { name: v.displayName }) });
        buttons.append(delBtn);
      }
    }
    return h('tr', { dataset: { pubkey: v.pubkey }, class: v.active ? '' : 'inactive' },
      nameCell,
      h('td', { 'data-label': t('vol.phone') }, p ? p.phone || '—' : '—'),
      h('td', { 'data-label': t('vol.role') }, v.role === 'admin' ? t('role.admin') : t('role.volunteer'),
        unvouched ? h('span', { class: 'badge off unvouched' }, ' ', t('vol.unvouched')) : null),
      h('td', { 'data-label': t('vol.status') }, h('span', { class: ['badge', v.active ? 'on' : 'off'] }, v.active ? t('vol.active') : t('vol.inactive')), ' ', statusText(v)),
      h('td', { 'data-label': t('vol.passkeys') }, String(v.passkeys ?? 0)),
      actions);
  }

  async function load(focusPubkey) {
    try {
      const { volunteers } = await api.volunteers();
      const sorted = [...volunteers].sort((a, b) => (a.active === b.active ? String(a.createdAt).localeCompare(String(b.createdAt)) : a.active ? -1 : 1));
      tbody.replaceChildren(...sorted.map(row));
      count.textContent = t('vol.count', { n: volunteers.length });
      if (focusPubkey) {
        const b = tbody.querySelector(`tr[data-pubkey="${CSS.escape(focusPubkey)}"] button`);
        if (b) b.focus();
      }
    } catch (err) {
      msg.show('error', errorText(t, err));
    }
  }
  await load();

  const table = h('div', { class: 'table-wrap' },
    h('table', { class: 'responsive' },
      h('caption', { class: 'visually-hidden' }, t('vol.title')),
      h('thead', {}, h('tr', {},
        ...['vol.name', 'vol.phone', 'vol.role', 'vol.status', 'vol.passkeys', 'vol.actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
      tbody));
  const node = h('div', { class: 'stack' },
    title(t('vol.title')),
    h('div', { class: 'row' },
      h('a', { href: '#/admin/invites', class: 'btn btn-primary' }, t('vol.invite')),
      button(t('common.refresh'), () => load(), { kind: 'secondary' })),
    msg.el, count, table);
  return { title: t('vol.title'), node };
}
