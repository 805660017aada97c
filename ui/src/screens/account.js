// Your account on this device: profile, passkeys, recovery backup, auto-lock
// delay, and removing this device's key.
import { h, field, button, busy } from '../dom.js';
import { npub, sealProfile } from '../keys.js';
import { AUTOLOCK_CHOICES } from '../autolock.js';
import { linkCard, passphraseCard } from './account-devices.js';
import { backupPanel, errorText, messageArea, notice, passkeyPanel, profileFields, title } from './parts.js';
import { sealingAdmins } from '../adminset.js';

export async function accountScreen(ctx) {
  const { t, api, session } = ctx;
  const root = h('div', { class: 'stack' }, title(t('account.title')));
  const top = messageArea();
  root.append(top.el);

  // Profile.
  const pmsg = messageArea();
  const pf = profileFields(t, session.profile || {});
  const pform = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'profile-h' },
    h('h2', { id: 'profile-h' }, t('account.profile')),
    h('p', { class: 'hint' }, t('onboard.profilePrivate')),
    ...pf.nodes, pmsg.el, button(t('common.save'), null, { type: 'submit' }));
  pform.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const p = pf.read();
    if (!p) return;
    await busy(pform, async () => {
      try {
        const me = await api.me();
        const env = sealProfile(p, session.pubkey, sealingAdmins(me));
        await api.putProfile(env);
        session.setProfile(p);
        pmsg.show('ok', t('account.profileSaved'));
      } catch (err) {
        pmsg.show('error', errorText(t, err));
      }
    });
  });

  // Passkeys.
  const list = h('ul', { class: 'stack' });
  const kmsg = messageArea();
  const addSlot = h('div');
  async function loadPasskeys() {
    try {
      const { passkeys } = await api.passkeys();
      list.replaceChildren(
        ...(passkeys.length ? passkeys : [null]).map((pk) =>
          pk
            ? h('li', { class: 'row' },
                h('span', {}, t('passkey.defaultName')),
                h('span', { class: 'muted' }, t('account.passkeyAdded', { when: ctx.formatTime(pk.createdAt) })),
                pk.lastUsedAt ? h('span', { class: 'muted' }, t('account.passkeyUsed', { when: ctx.formatTime(pk.lastUsedAt) })) : null,
                button(t('common.remove'), async (ev) => {
                  ev.target.disabled = true;
                  try {
                    await api.deletePasskey(pk.id);
                    ctx.announce(t('account.passkeyRemoved'));
                    await loadPasskeys();
                  } catch (err) {
                    ev.target.disabled = false;
                    kmsg.show('error', errorText(t, err));
                  }
                }, { kind: 'secondary', 'aria-label': t('account.removePasskey', { name: ctx.formatTime(pk.createdAt) }) }),
              )
            : h('li', { class: 'muted' }, t('account.noPasskeys')),
        ),
      );
    } catch (err) {
      kmsg.show('error', errorText(t, err));
    }
  }
  const addBtn = button(t('passkey.add'), () => {
    addBtn.hidden = true;
    addSlot.replaceChildren(passkeyPanel(ctx, { onDone: (added) => {
      addSlot.replaceChildren();
      addBtn.hidden = false;
      addBtn.focus();
      if (added) loadPasskeys();
    } }).el);
    addSlot.querySelector('input')?.focus();
  }, { kind: 'secondary' });
  loadPasskeys();

  // Recovery backup.
  const bslot = h('div');
  const bbtn = button(t('account.newBackup'), () => {
    bbtn.hidden = true;
    bslot.replaceChildren(backupPanel(ctx, session.secretKey, { onDone: () => {
      bslot.replaceChildren();
      bbtn.hidden = false;
      ctx.announce(t('account.backupDone'));
    } }).el);
  }, { kind: 'secondary' });

  // Auto-lock.
  const sel = h('select', { id: 'autolock' },
    ...AUTOLOCK_CHOICES.map((m) => h('option', { value: String(m), selected: m === ctx.prefs().autoLockMinutes }, t('account.minutes', { n: m }))));
  sel.addEventListener('change', () => {
    ctx.setAutoLockMinutes(Number(sel.value));
    ctx.announce(t('account.autolockSaved'));
  });

  // Remove this device's key: a second, explicit step.
  const dmsg = messageArea();
  const confirmBox = h('div', { hidden: true, class: 'stack' },
    notice('warn', t('account.removeKeyWarning')),
    h('div', { class: 'row' },
      button(t('account.removeKeyConfirm'), () => ctx.removeDeviceKey(), { kind: 'danger', id: 'remove-key-confirm' }),
      button(t('common.cancel'), () => {
        confirmBox.hidden = true;
        removeBtn.hidden = false;
        removeBtn.focus();
      }, { kind: 'secondary' }),
    ));
  const removeBtn = button(t('account.removeKey'), () => {
    removeBtn.hidden = true;
    confirmBox.hidden = false;
    confirmBox.querySelector('button').focus();
  }, { kind: 'secondary' });

  const links = linkCard(ctx);
  root.append(
    pform,
    h('section', { class: 'card stack', 'aria-labelledby': 'keys-h' },
      h('h2', { id: 'keys-h' }, t('account.passkeys')), kmsg.el, list, addBtn, addSlot),
    h('section', { class: 'card stack', 'aria-labelledby': 'bk-h' },
      h('h2', { id: 'bk-h' }, t('account.backup')), h('p', {}, t('account.backupExplain')), bbtn, bslot),
    passphraseCard(ctx),
    links.node,
    h('section', { class: 'card stack', 'aria-labelledby': 'dev-h' },
      h('h2', { id: 'dev-h' }, t('account.device')),
      h('div', { class: 'field' }, h('label', { for: 'autolock' }, t('account.autolock')), h('p', { class: 'hint' }, t('account.autolockHint')), sel),
      h('p', {}, t('account.panicHint')),
      h('p', {}, t('home.publicKey'), ' ', h('span', { class: 'mono' }, npub(session.pubkey))),
      dmsg.el, removeBtn, confirmBox),
  );
  return { title: t('account.title'), node: root, cleanup: links.cleanup };
}
