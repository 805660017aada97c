// Pieces shared by several screens.
import { h, field, button, busy } from '../dom.js';
import { checkName, checkPassphrase, checkPhone, normalizePhone } from '../validate.js';
import { createBackup } from '../keys.js';
import { createPasskey, webauthnSupported } from '../webauthn.js';
import { errorText } from '../errors.js';

export function notice(kind, text, extra = {}) {
  return h('div', { class: ['notice', kind], ...extra }, text);
}

// A notice area whose content is announced when it changes.
export function messageArea() {
  const el = h('div', { class: 'messages', role: 'status', 'aria-live': 'polite' });
  return {
    el,
    show(kind, text) {
      el.replaceChildren(notice(kind, text));
    },
    clear() {
      el.replaceChildren();
    },
  };
}

export function title(text) {
  return h('h1', { tabindex: '-1' }, text);
}

export function profileFields(t, { name = '', phone = '' } = {}) {
  const n = field({ label: t('form.name'), name: 'name', value: name, required: true, autocomplete: 'name', hint: t('form.nameHint') });
  const p = field({ label: t('form.phone'), name: 'phone', type: 'tel', value: phone, autocomplete: 'tel', hint: t('form.phoneHint') });
  return {
    nodes: [n.wrap, p.wrap],
    // read returns the values, or null after marking the fields in error.
    read() {
      const e1 = checkName(n.input.value);
      const e2 = checkPhone(p.input.value);
      n.setError(e1 ? t(e1) : '');
      p.setError(e2 ? t(e2) : '');
      if (e1) n.input.focus();
      else if (e2) p.input.focus();
      if (e1 || e2) return null;
      return { name: n.input.value.trim(), phone: normalizePhone(p.input.value) };
    },
  };
}

export function passphraseFields(t, { labelKey = 'form.passphrase', autocomplete = 'new-password' } = {}) {
  const a = field({ label: t(labelKey), name: 'passphrase', type: 'password', required: true, autocomplete, hint: t('form.passphraseHint'), attrs: { minlength: '8' } });
  const b = field({ label: t('form.passphraseConfirm'), name: 'passphrase2', type: 'password', required: true, autocomplete });
  return {
    nodes: [a.wrap, b.wrap],
    read() {
      const e = checkPassphrase(a.input.value, b.input.value);
      a.setError(e === 'form.passphraseShort' ? t(e) : '');
      b.setError(e === 'form.passphraseMismatch' ? t(e) : '');
      if (e === 'form.passphraseShort') a.input.focus();
      else if (e) b.input.focus();
      return e ? null : a.input.value;
    },
    clear() {
      a.input.value = '';
      b.input.value = '';
    },
  };
}

export function downloadText(filename, text, type = 'application/json') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  // Give the download a moment to start before the URL goes away.
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export async function copyText(text, fallbackInput) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (fallbackInput) {
      fallbackInput.focus();
      fallbackInput.select();
    }
    return false;
  }
}

// backupPanel: makes a recovery key and a backup file for secretKey, shows
// the key once, offers the download and calls onDone when the person says
// they have kept it (or skips, where allowed).
export function backupPanel(ctx, secretKey, { onDone, allowSkip = true } = {}) {
  const { t } = ctx;
  const msg = messageArea();
  const body = h('div', { class: 'stack' }, h('p', {}, t('backup.making')));
  const box = h('section', { class: 'card stack', 'aria-labelledby': 'backup-h' }, h('h2', { id: 'backup-h' }, t('backup.title')), msg.el, body);
  let backup = null;
  let downloaded = false;
  createBackup(secretKey)
    .then((b) => {
      backup = b;
      // One unbreakable span per group, so a narrow screen wraps between
      // groups and never inside one; the text is still XXXX-XXXX-….
      const groups = b.recoveryKey.split('-');
      const keyEl = h('code', { class: 'recovery-key', id: 'recovery-key' },
        ...groups.map((g, i) => [h('span', { class: 'grp' }, g + (i < groups.length - 1 ? '-' : '')), i < groups.length - 1 ? h('wbr') : null]));
      const saved = h('input', { type: 'checkbox', id: 'backup-saved' });
      const cont = button(t('backup.continue'), () => {
        if (!saved.checked) {
          msg.show('error', t('backup.confirmFirst'));
          saved.focus();
          return;
        }
        onDone();
      });
      body.replaceChildren(
        h('p', {}, t('backup.explain')),
        h('p', { class: 'muted' }, t('backup.keyLabel')),
        keyEl,
        h('div', { class: 'row' },
          button(t('backup.download'), () => {
            downloadText(b.filename, b.file);
            downloaded = true;
            ctx.announce(t('backup.downloaded'));
          }, { kind: 'secondary' }),
          button(t('backup.copyKey'), async () => {
            if (await copyText(b.recoveryKey)) ctx.announce(t('common.copied'));
          }, { kind: 'secondary' }),
        ),
        notice('warn', t('backup.warning')),
        h('div', { class: 'check' }, saved, h('label', { for: 'backup-saved' }, t('backup.saved'))),
        h('div', { class: 'row' }, cont),
        allowSkip ? skipBackup(t, msg, onDone) : '',
      );
    })
    .catch(() => {
      msg.show('error', t('backup.failed'));
      body.replaceChildren(allowSkip ? skipBackup(t, msg, onDone) : '');
    });
  return { el: box, get downloaded() { return downloaded; }, get backup() { return backup; } };
}

// skipBackup: going on without a recovery backup takes an explicit "I
// understand" (ticked, then confirmed), never a single click.
function skipBackup(t, msg, onDone) {
  const understood = h('input', { type: 'checkbox', id: 'backup-skip-understood' });
  const confirm = button(t('backup.skipConfirm'), () => {
    if (!understood.checked) {
      msg.show('error', t('backup.skipTickFirst'));
      understood.focus();
      return;
    }
    onDone();
  }, { kind: 'secondary' });
  const box = h('div', { class: 'stack skip-backup', hidden: true },
    notice('warn', t('backup.skipWarning')),
    h('div', { class: 'check' }, understood, h('label', { for: 'backup-skip-understood' }, t('backup.skipUnderstand'))),
    h('div', { class: 'row' }, confirm));
  const open = button(t('backup.skip'), () => {
    box.hidden = false;
    open.hidden = true;
    understood.focus();
  }, { kind: 'link' });
  return h('div', {}, open, box);
}

// passkeyPanel: enrolls a passkey on this device. required hides "skip".
export function passkeyPanel(ctx, { required = false, onDone } = {}) {
  const { t, api } = ctx;
  const msg = messageArea();
  const supported = webauthnSupported(window);
  const form = h('form', { class: 'stack', novalidate: true });
  const add = button(t('passkey.add'), null, { type: 'submit' });
  form.append(h('div', { class: 'row' }, add, required ? null : button(t('passkey.skip'), () => onDone(false), { kind: 'link' })));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    await busy(form, async () => {
      try {
        const { options } = await api.passkeyOptions();
        const credential = await createPasskey(navigator.credentials, options);
        await api.addPasskey(credential);
        ctx.announce(t('passkey.added'));
        onDone(true);
      } catch (err) {
        msg.show('error', errorText(t, err));
      }
    });
  });
  const el = h('section', { class: 'card stack', 'aria-labelledby': 'passkey-h' },
    h('h2', { id: 'passkey-h' }, t('passkey.title')),
    h('p', {}, t(required ? 'passkey.explainRequired' : 'passkey.explain')),
    msg.el,
    supported ? form : notice('error', t('error.passkeyUnsupported')),
  );
  return { el };
}

export { errorText };
