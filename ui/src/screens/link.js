// Link this (new) device from one where the account is signed in. This
// device makes an ephemeral key and shows the link's code; the other device
// answers; both work out a confirmation code, which the person types on the
// other device; that device then sends the account's key, encrypted so that
// only this device opens it (docs/crypto.md, "Device linking").
import { h, button, busy } from '../dom.js';
import { buildKeyStore, hasKeyStore, linkCode, openFromLink, startLink, writeKeyStore } from '../keys.js';
import { errorText, messageArea, notice, passphraseFields, title } from './parts.js';

const POLL_MS = 1000;

// formatLinkId shows a code as two groups of five, easier to read aloud.
export function formatLinkId(id) {
  return `${id.slice(0, 5)}-${id.slice(5)}`;
}

export async function linkScreen(ctx) {
  const { t, api } = ctx;
  const heading = t('link.title');
  const root = h('div', { class: 'stack narrow' }, title(heading), h('p', {}, t('link.intro')));
  const msg = messageArea();
  const body = h('div', { class: 'stack' });
  root.append(msg.el, body, h('p', {}, h('a', { href: '#/login' }, t('restore.back'))));

  let link = null; // {id, token, secretKey, pubkey, expires}
  let timer = null;
  let finished = false;
  let codeShown = false;

  function stop() {
    clearTimeout(timer);
    timer = null;
  }
  function forget() {
    stop();
    if (link) link.secretKey.fill(0);
    link = null;
  }

  function restartButton() {
    return button(t('link.startAgain'), () => start(), { kind: 'secondary' });
  }

  function ended(text) {
    forget();
    body.replaceChildren(notice('error', text), restartButton());
  }

  async function start() {
    forget();
    codeShown = false;
    msg.clear();
    body.replaceChildren(h('p', {}, t('link.starting')));
    const k = startLink();
    try {
      const r = await api.createLink(k.commitment);
      link = { id: r.id, token: r.token, secretKey: k.secretKey, pubkey: k.pubkey, expires: Date.parse(r.expiresAt) };
    } catch (err) {
      k.secretKey.fill(0);
      body.replaceChildren(notice('error', errorText(t, err)), restartButton());
      return;
    }
    const cancel = button(t('common.cancel'), async () => {
      const l = link;
      forget();
      if (l) await api.abandonLink(l.id, l.token).catch(() => {});
      body.replaceChildren(notice('', t('link.cancelled')), restartButton());
    }, { kind: 'secondary' });
    body.replaceChildren(
      h('p', {}, t('link.showCode')),
      h('p', { class: 'link-code mono', id: 'link-id', 'aria-label': t('link.codeLabel') }, formatLinkId(link.id)),
      h('p', { class: 'hint' }, t('link.expires', { when: ctx.formatTime(new Date(link.expires).toISOString()) })),
      h('div', { id: 'link-confirm' }),
      cancel,
    );
    poll();
  }

  function poll() {
    stop();
    if (!link || finished) return;
    if (Date.now() > link.expires) {
      ended(t('link.expired'));
      return;
    }
    timer = setTimeout(step, POLL_MS);
  }

  async function step() {
    const l = link;
    if (!l) return;
    let v;
    try {
      v = await api.linkStatus(l.id, l.token);
    } catch (err) {
      if (link !== l) return;
      if (err.status === 404) ended(t('link.ended'));
      else {
        msg.show('error', errorText(t, err));
        poll();
      }
      return;
    }
    if (link !== l) return;
    msg.clear();
    if (v.state === 'answered' && !codeShown) {
      try {
        await api.revealLink(l.id, l.token, l.pubkey);
      } catch (err) {
        ended(errorText(t, err));
        return;
      }
      showCode(linkCode(l.id, l.pubkey, v.oldKey));
    } else if (v.state === 'revealed' && !codeShown) {
      showCode(linkCode(l.id, l.pubkey, v.oldKey));
    } else if (v.state === 'sealed') {
      receive(v);
      return;
    }
    poll();
  }

  function showCode(code) {
    codeShown = true;
    const slot = body.querySelector('#link-confirm');
    slot.replaceChildren(
      h('p', {}, t('link.typeCode')),
      h('p', { class: 'link-code mono', id: 'link-sas', 'aria-label': t('link.confirmLabel') }, `${code.slice(0, 3)} ${code.slice(3)}`),
    );
    ctx.announce(t('link.typeCode'));
  }

  function receive(v) {
    const l = link;
    let got;
    try {
      got = openFromLink(v.sealed, { id: l.id, newSecret: l.secretKey, oldPubHex: v.oldKey });
    } catch {
      ended(t('link.tampered'));
      return;
    }
    finished = true;
    forget();
    choosePassphrase(got);
  }

  function choosePassphrase(got) {
    const pass = passphraseFields(t, { labelKey: 'form.newPassphrase' });
    const fmsg = messageArea();
    const form = h('form', { class: 'card', novalidate: true }, h('p', {}, t('link.received')));
    let replace = null;
    if (hasKeyStore(localStorage)) {
      replace = h('input', { type: 'checkbox', id: 'link-replace' });
      form.append(notice('warn', t('onboard.existingKey')), h('div', { class: 'check' }, replace, h('label', { for: 'link-replace' }, t('onboard.replaceKey'))));
    }
    form.append(...pass.nodes, fmsg.el, button(t('link.finish'), null, { type: 'submit' }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      fmsg.clear();
      const passphrase = pass.read();
      if (!passphrase) return;
      if (replace && !replace.checked) {
        fmsg.show('error', t('onboard.confirmReplace'));
        replace.focus();
        return;
      }
      await busy(form, async () => {
        fmsg.show('', t('link.saving'));
        writeKeyStore(localStorage, await buildKeyStore(got.secretKey, passphrase));
        pass.clear();
        try {
          await ctx.completeLogin(got.secretKey, got.pubkey, { onPasskey: () => fmsg.show('', t('login.passkeyPrompt')) });
          ctx.afterLoginNavigate();
        } catch (err) {
          if (got.secretKey !== ctx.session.secretKey) got.secretKey.fill(0);
          ctx.setFlash('warn', t('restore.restoredLoginFailed', { reason: errorText(t, err) }));
          location.replace('#/login');
        }
      });
    });
    body.replaceChildren(form);
    form.querySelector('input[type="password"]').focus();
  }

  await start();
  return {
    title: heading,
    node: root,
    cleanup() {
      const l = link;
      forget();
      // Leaving mid-way ends the link, so nobody can finish it later.
      if (l && !finished) api.abandonLink(l.id, l.token, { keepalive: true }).catch(() => {});
    },
  };
}
