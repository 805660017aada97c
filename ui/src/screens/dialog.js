// A modal confirmation built on <dialog>: focus goes into it, Escape and
// Cancel close it, and focus returns to what opened it. An optional text box
// collects a reason (sealed by the caller before it leaves the browser).
import { h, button, uniqueId } from '../dom.js';

export function confirmDialog(ctx, { title, body, confirmLabel, danger = true, reasonLabel = null, reasonHint = null }) {
  const { t } = ctx;
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const id = uniqueId('dlg');
    let reason = null;
    let reasonWrap = null;
    if (reasonLabel) {
      reason = h('textarea', { id: id + '-reason', rows: '3', 'aria-describedby': reasonHint ? id + '-hint' : undefined });
      reasonWrap = h('div', { class: 'field' }, h('label', { for: id + '-reason' }, reasonLabel), reasonHint ? h('p', { class: 'hint', id: id + '-hint' }, reasonHint) : null, reason);
    }
    let result = { ok: false };
    const ok = button(confirmLabel, () => {
      result = { ok: true, reason: reason ? reason.value.trim() : '' };
      dlg.close();
    }, { kind: danger ? 'danger' : 'primary' });
    const cancel = button(t('common.cancel'), () => dlg.close(), { kind: 'secondary' });
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': id + '-h', 'aria-describedby': id + '-body' },
      h('h2', { id: id + '-h' }, title),
      h('p', { id: id + '-body' }, body),
      reasonWrap,
      h('div', { class: 'row' }, ok, cancel));
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (opener && typeof opener.focus === 'function' && opener.isConnected) opener.focus();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    (reason || cancel).focus();
  });
}
