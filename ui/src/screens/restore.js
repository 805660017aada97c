// Restore a key from the backup file and the recovery key, protect it with a
// new passphrase on this device, then log in with it.
import { h, field, button, busy } from '../dom.js';
import { BackupError, buildKeyStore, hasKeyStore, restoreBackup, writeKeyStore } from '../keys.js';
import { errorText, messageArea, notice, passphraseFields, title } from './parts.js';

const MAX_BACKUP_BYTES = 64 * 1024;

export async function restoreScreen(ctx) {
  const { t } = ctx;
  const msg = messageArea();
  const file = field({ label: t('restore.file'), name: 'backup', type: 'file', required: true, attrs: { accept: '.json,application/json' } });
  const rk = field({ label: t('restore.recoveryKey'), name: 'recovery', required: true, autocomplete: 'off', hint: t('restore.recoveryHint'), attrs: { spellcheck: 'false', autocapitalize: 'characters' } });
  const pass = passphraseFields(t, { labelKey: 'form.newPassphrase' });
  const form = h('form', { class: 'card', novalidate: true });
  let replace = null;
  if (hasKeyStore(localStorage)) {
    replace = h('input', { type: 'checkbox', id: 'restore-replace' });
    form.append(notice('warn', t('onboard.existingKey')), h('div', { class: 'check' }, replace, h('label', { for: 'restore-replace' }, t('onboard.replaceKey'))));
  }
  form.append(file.wrap, rk.wrap, ...pass.nodes, msg.el, button(t('restore.submit'), null, { type: 'submit' }));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    file.setError('');
    rk.setError('');
    // Every field is checked at once; focus goes to the first problem.
    const f = file.input.files && file.input.files[0];
    if (!f) file.setError(t('restore.fileMissing'));
    else if (f.size > MAX_BACKUP_BYTES) file.setError(t('restore.fileBad'));
    if (!rk.input.value.trim()) rk.setError(t('restore.keyMissing'));
    const passphrase = pass.read();
    const mustConfirm = replace && !replace.checked;
    if (mustConfirm) msg.show('error', t('onboard.confirmReplace'));
    const firstBad = form.querySelector('[aria-invalid="true"]') || (mustConfirm ? replace : null);
    if (firstBad) {
      firstBad.focus();
      return;
    }
    await busy(form, async () => {
      let restored;
      try {
        msg.show('', t('restore.working'));
        restored = await restoreBackup(await f.text(), rk.input.value);
      } catch (err) {
        msg.clear();
        if (err instanceof BackupError) {
          if (err.reason === 'file') {
            file.setError(t('restore.fileBad'));
            file.input.focus();
          } else {
            rk.setError(t(err.reason === 'recoveryKey' ? 'restore.keyMalformed' : 'restore.keyWrong'));
            rk.input.focus();
          }
        } else {
          msg.show('error', errorText(t, err));
        }
        return;
      }
      const store = await buildKeyStore(restored.secretKey, passphrase);
      writeKeyStore(localStorage, store);
      pass.clear();
      rk.input.value = '';
      try {
        await ctx.completeLogin(restored.secretKey, restored.pubkey, { onPasskey: () => msg.show('', t('login.passkeyPrompt')) });
        ctx.afterLoginNavigate();
      } catch (err) {
        // The key is restored on this device either way; logging in can be
        // retried from the login screen.
        if (restored.secretKey !== ctx.session.secretKey) restored.secretKey.fill(0);
        ctx.setFlash('warn', t('restore.restoredLoginFailed', { reason: errorText(t, err) }));
        location.replace('#/login');
      }
    });
  });

  const root = h('div', { class: 'stack narrow' }, title(t('restore.title')), h('p', {}, t('restore.intro')), form, h('p', {}, h('a', { href: '#/login' }, t('restore.back'))));
  return { title: t('restore.title'), node: root };
}
