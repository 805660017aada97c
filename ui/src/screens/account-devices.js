// The account screen's device cards: change this device's passphrase, and
// link a new device by sending it this account's key.
import { h, field, button, busy } from '../dom.js';
import { answerLinkKey, changePassphrase, linkCode, linkCommitmentMatches, sealForLink } from '../keys.js';
import { errorText, messageArea, notice, passphraseFields } from './parts.js';

const POLL_MS = 1000;

export function passphraseCard(ctx) {
  const { t, session } = ctx;
  const msg = messageArea();
  const cur = field({ label: t('passphrase.current'), name: 'current-passphrase', type: 'password', required: true, autocomplete: 'current-password' });
  const next = passphraseFields(t, { labelKey: 'form.newPassphrase' });
  const form = h('form', { class: 'card stack', novalidate: true, 'aria-labelledby': 'pass-h' },
    h('h2', { id: 'pass-h' }, t('passphrase.title')),
    h('p', {}, t('passphrase.explain')),
    cur.wrap, ...next.nodes, msg.el, button(t('passphrase.submit'), null, { type: 'submit' }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    cur.setError('');
    if (!cur.input.value) {
      cur.setError(t('form.passphraseRequired'));
      cur.input.focus();
      return;
    }
    const nextValue = next.read();
    if (!nextValue) return;
    await busy(form, async () => {
      msg.show('', t('passphrase.working'));
      const r = await changePassphrase(localStorage, cur.input.value, nextValue, session.pubkey);
      cur.input.value = '';
      if (r.ok) {
        next.clear();
        msg.show('ok', t('passphrase.changed'));
        return;
      }
      msg.clear();
      switch (r.reason) {
        case 'wrong': {
          let text = t('passphrase.wrong');
          if (typeof r.attemptsLeft === 'number') text += ' ' + t('login.attemptsLeft', { n: r.attemptsLeft });
          cur.setError(text);
          cur.input.focus();
          break;
        }
        case 'wait':
          msg.show('error', t('login.wait', { seconds: Math.max(1, Math.ceil((r.retryAfterMs || 1000) / 1000)) }));
          break;
        case 'wiped':
          msg.show('error', t('login.wiped'));
          break;
        case 'otherAccount':
          msg.show('error', t('passphrase.otherAccount'));
          break;
        default:
          msg.show('error', t(r.reason === 'missing' ? 'login.noKey' : 'login.corrupt'));
      }
    });
  });
  return form;
}

// linkCard: type the new device's code, check the confirmation code it then
// shows, and send the key. Nothing is sent before the typed confirmation code
// matches the one this device computed.
export function linkCard(ctx) {
  const { t, api, session } = ctx;
  const msg = messageArea();
  const slot = h('div', { class: 'stack' });
  let state = null; // {id, key, commitment, timer}

  function stop() {
    if (!state) return;
    clearTimeout(state.timer);
    state.key.secretKey.fill(0);
    state = null;
  }

  async function cancel() {
    const s = state;
    stop();
    if (s) await api.cancelLink(s.id).catch(() => {});
    showStart();
  }

  function showStart() {
    const code = field({ label: t('link.codeField'), name: 'link-code', required: true, autocomplete: 'off', hint: t('link.codeHint'), attrs: { spellcheck: 'false', autocapitalize: 'characters' } });
    const form = h('form', { class: 'stack', novalidate: true }, code.wrap, button(t('link.answer'), null, { type: 'submit' }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.clear();
      const id = code.input.value.toUpperCase().replace(/[\s-]/g, '');
      if (!/^[A-Z2-7]{10}$/.test(id)) {
        code.setError(t('link.codeMalformed'));
        code.input.focus();
        return;
      }
      code.setError('');
      await busy(form, async () => {
        // The commitment to the new device's key comes first; this device's
        // key is made and sent only after it (docs/crypto.md).
        let claim;
        try {
          claim = await api.claimLink(id);
        } catch (err) {
          code.setError(err.status === 404 ? t('link.unknownCode') : errorText(t, err));
          code.input.focus();
          return;
        }
        const key = answerLinkKey();
        state = { id, key, commitment: claim.commitment, timer: null };
        try {
          await api.answerLink(id, key.pubkey);
        } catch (err) {
          stop();
          code.setError(errorText(t, err));
          code.input.focus();
          return;
        }
        slot.replaceChildren(notice('', t('link.waitingReveal')), button(t('common.cancel'), cancel, { kind: 'secondary' }));
        poll();
      });
    });
    slot.replaceChildren(form);
  }

  function poll() {
    if (!state) return;
    state.timer = setTimeout(async () => {
      const s = state;
      if (!s) return;
      let v;
      try {
        v = await api.peekLink(s.id);
      } catch (err) {
        if (state !== s) return;
        stop();
        msg.show('error', err.status === 404 ? t('link.ended') : errorText(t, err));
        showStart();
        return;
      }
      if (state !== s) return;
      if (v.state !== 'revealed') {
        poll();
        return;
      }
      if (!linkCommitmentMatches(v.newKey, s.commitment)) {
        await cancel();
        msg.show('error', t('link.tampered'));
        return;
      }
      confirm(linkCode(s.id, v.newKey, s.key.pubkey), v.newKey);
    }, POLL_MS);
  }

  function confirm(expected, newKey) {
    const sas = field({ label: t('link.confirmField'), name: 'link-sas', required: true, autocomplete: 'off', hint: t('link.confirmHint'), attrs: { inputmode: 'numeric' } });
    const form = h('form', { class: 'stack', novalidate: true }, sas.wrap,
      h('div', { class: 'row' }, button(t('link.send'), null, { type: 'submit' }), button(t('common.cancel'), cancel, { kind: 'secondary' })));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.clear();
      const typed = sas.input.value.replace(/\D/g, '');
      if (typed !== expected) {
        sas.setError(t('link.codeMismatch'));
        sas.input.focus();
        return;
      }
      sas.setError('');
      const s = state;
      await busy(form, async () => {
        try {
          await api.sealLink(s.id, sealForLink(session.secretKey, { id: s.id, oldSecret: s.key.secretKey, newPubHex: newKey }));
        } catch (err) {
          stop();
          msg.show('error', err.status === 404 ? t('link.ended') : errorText(t, err));
          showStart();
          return;
        }
        stop();
        msg.show('ok', t('link.sent', { code: `${expected.slice(0, 3)} ${expected.slice(3)}` }));
        showStart();
      });
    });
    slot.replaceChildren(notice('', t('link.revealed')), form);
    sas.input.focus();
  }

  showStart();
  return {
    node: h('section', { class: 'card stack', 'aria-labelledby': 'link-h' },
      h('h2', { id: 'link-h' }, t('link.cardTitle')), h('p', {}, t('link.cardExplain')), msg.el, slot),
    cleanup() {
      const s = state;
      stop();
      if (s) api.cancelLink(s.id, { keepalive: true }).catch(() => {});
    },
  };
}
