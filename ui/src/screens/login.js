// Log in (or unlock after auto-lock / a reload): the passphrase opens the key
// store here; the key then signs the server's challenge. A passkey is asked
// for when the server says so.
import { append, h, field, button, busy } from '../dom.js';
import { keyStoreStatus, unlockKeyStore } from '../keys.js';
import { errorText, messageArea, notice, title } from './parts.js';

function waitText(t, ms) {
  return t('login.wait', { seconds: Math.max(1, Math.ceil(ms / 1000)) });
}

export async function loginScreen(ctx) {
  const { t, session } = ctx;
  const locked = !!session.pubkey; // signed in on the server, key dropped here
  const heading = t(locked ? 'login.lockedTitle' : 'login.title');
  const root = h('div', { class: 'stack narrow' }, title(heading));
  const flash = ctx.takeFlash();
  if (flash) root.append(notice(flash.kind || '', flash.text));

  const status = keyStoreStatus(localStorage);
  if (!status.present) {
    // append, not root.append: the DOM's own would print a null as "null".
    append(root, [
      notice('', t('login.noKey')),
      h('p', {}, h('a', { href: '#/restore' }, t('login.restoreLink'))),
      h('p', {}, h('a', { href: '#/link' }, t('login.linkLink'))),
      locked ? button(t('nav.logout'), () => ctx.logout(), { kind: 'secondary' }) : null,
    ]);
    return { title: heading, node: root };
  }

  const msg = messageArea();
  const pass = field({ label: t('form.passphrase'), name: 'passphrase', type: 'password', required: true, autocomplete: 'current-password' });
  const submit = button(t(locked ? 'login.unlock' : 'login.submit'), null, { type: 'submit' });
  const form = h('form', { class: 'card', novalidate: true }, h('p', {}, t(locked ? 'login.lockedIntro' : 'login.intro')), pass.wrap, msg.el, submit);
  let retry = null;
  let keyInHand = null; // unlocked key kept while a passkey step is retried

  // holdUntil disables the button while the key store refuses attempts,
  // counting down once a second (after `prefix`, e.g. "Wrong passphrase.").
  let waitTimer = null;
  function holdUntil(ms, prefix = '') {
    clearTimeout(waitTimer);
    const until = Date.now() + ms;
    const tick = () => {
      const left = until - Date.now();
      if (left <= 0 || !submit.isConnected) {
        submit.disabled = false;
        if (submit.isConnected) msg.show('', t('login.tryAgain'));
        return;
      }
      submit.disabled = true;
      msg.show('error', (prefix ? prefix + ' ' : '') + waitText(t, left));
      waitTimer = setTimeout(tick, Math.min(1000, left));
    };
    tick();
  }
  if (status.retryAfterMs > 0) holdUntil(status.retryAfterMs);

  async function finishLogin(secretKey, pubkey) {
    try {
      await ctx.completeLogin(secretKey, pubkey, {
        onPasskey: () => msg.show('', t('login.passkeyPrompt')),
      });
      keyInHand = null;
      if (retry) retry.remove();
      ctx.afterLoginNavigate();
    } catch (err) {
      keyInHand = { secretKey, pubkey };
      msg.show('error', errorText(t, err));
      if (err && err.code === 'passkey_required') return; // nothing to retry
      if (!retry) {
        retry = button(t('login.retry'), () => busy(form, () => finishLogin(keyInHand.secretKey, keyInHand.pubkey)), { kind: 'secondary' });
        form.append(retry);
      }
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    if (!pass.input.value) {
      pass.setError(t('form.passphraseRequired'));
      pass.input.focus();
      return;
    }
    pass.setError('');
    await busy(form, async () => {
      msg.show('', t('login.unlocking'));
      const r = await unlockKeyStore(localStorage, pass.input.value);
      pass.input.value = '';
      if (!r.ok) {
        if (r.reason === 'wiped') {
          msg.show('error', t('login.wiped'));
          form.replaceWith(h('div', {}, notice('error', t('login.wiped')), h('p', {}, h('a', { href: '#/restore' }, t('login.restoreLink')))));
          return;
        }
        if (r.reason === 'wait') {
          setTimeout(() => holdUntil(r.retryAfterMs || 1000), 0);
          return;
        }
        if (r.reason === 'corrupt') {
          msg.show('error', t('login.corrupt'));
          return;
        }
        let text = t('login.wrong');
        if (typeof r.attemptsLeft === 'number') text += ' ' + t('login.attemptsLeft', { n: r.attemptsLeft });
        pass.input.focus();
        // busy() re-enables the button when this returns; the hold starts after.
        if (r.retryAfterMs > 0) setTimeout(() => holdUntil(r.retryAfterMs, text), 0);
        else msg.show('error', text);
        return;
      }
      if (locked && session.pubkey !== r.pubkey) {
        // A different key than the signed-in account: treat as a fresh login.
        await ctx.dropServerSession();
      }
      await finishLogin(r.secretKey, r.pubkey);
    });
  });

  append(root, [
    form,
    h('p', {}, h('a', { href: '#/restore' }, t('login.restoreLink'))),
    h('p', {}, h('a', { href: '#/link' }, t('login.linkLink'))),
    locked ? button(t('nav.logout'), () => ctx.logout(), { kind: 'secondary' }) : null,
  ]);
  return {
    title: heading,
    node: root,
    cleanup() {
      clearTimeout(waitTimer);
      // A key unlocked here but never installed (login failed, then the
      // person left) must not linger in memory.
      if (keyInHand && keyInHand.secretKey !== session.secretKey) keyInHand.secretKey.fill(0);
      keyInHand = null;
    },
  };
}
