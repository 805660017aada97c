// The admin set in the app: a banner whenever this browser refuses to seal
// to an admin the server names (adminset.js), the first admin's statement
// when the hotline has none, and, for a vouched admin, re-sealing with a
// progress bar whenever something is not sealed to the current admins.
import { h } from './dom.js';
import { ADMIN_ADD, statement, trust } from './adminset.js';
import { runReseal } from './reseal.js';
import { errorText } from './errors.js';
import { npub } from './keys.js';

const PROBLEMS = {
  broken: (t) => t('adminset.broken'),
  rollback: (t) => t('adminset.rollback'),
  empty: (t) => t('adminset.empty'),
};

export function createAdminSetUI(ctx, el) {
  const { t, api, session } = ctx;
  let finished = null; // the admin-set head the last complete re-seal ran for
  let busy = false; // posting the first statement, or re-sealing
  let again = false; // something changed while busy: check once more
  let progress = null;
  let result = null;

  function render() {
    const me = session.me;
    if (!session.unlocked || !me) {
      el.replaceChildren();
      return;
    }
    const tr = trust(me);
    const parts = [];
    if (tr.refused.length) {
      parts.push(h('p', { class: 'notice warn adminset-refused', role: 'alert' },
        t('adminset.refused', { n: tr.refused.length, keys: tr.refused.map((k) => npub(k).slice(0, 16) + '…').join(', ') })));
    }
    if (tr.problem === 'broken' || tr.problem === 'rollback' || (tr.problem === 'empty' && me.role !== 'admin')) {
      parts.push(h('p', { class: 'notice warn adminset-problem', role: 'alert', dataset: { problem: tr.problem } }, PROBLEMS[tr.problem](t)));
    }
    if (progress) {
      parts.push(h('div', { class: 'notice reseal', role: 'status' },
        h('label', { for: 'reseal-progress' }, t('adminset.resealing', { done: progress.done + progress.skipped, total: progress.total })),
        ' ',
        h('progress', { id: 'reseal-progress', max: String(Math.max(progress.total, 1)), value: String(progress.done + progress.skipped) })));
    }
    if (result) parts.push(h('p', { class: ['notice', result.kind, 'reseal-result'], role: 'status' }, result.text));
    el.replaceChildren(...parts);
  }

  async function refreshMe() {
    session.setMe(await api.me());
  }

  async function check() {
    render();
    const me = session.me;
    if (!session.unlocked || !me || me.role !== 'admin') return;
    if (busy) {
      again = true;
      return;
    }
    const tr = trust(me);
    if (tr.problem === 'empty') {
      // No statement yet: the first admin adds themself (the server takes
      // it only from an active admin while the set is empty).
      busy = true;
      try {
        await api.postAdminSet(statement(me, ADMIN_ADD, session.pubkey, session.secretKey));
        await refreshMe();
      } catch (err) {
        result = { kind: 'error', text: errorText(t, err) };
        render();
      } finally {
        busy = false;
      }
      return;
    }
    if (!tr.vouched.includes(session.pubkey) || tr.problem || finished === tr.head) return;
    busy = true;
    again = false;
    try {
      const first = await api.resealPage('', 1);
      if (first.total > 0) {
        result = null;
        const out = await runReseal({
          api,
          secretKey: session.secretKey,
          admins: tr.admins,
          head: tr.head,
          onProgress: (p) => {
            progress = p;
            render();
          },
        });
        progress = null;
        result = { kind: 'ok', text: t('adminset.resealed', { n: out.done }) + (out.skipped ? ' ' + t('adminset.resealSkipped', { n: out.skipped }) : '') };
      }
      finished = tr.head;
    } catch (err) {
      progress = null;
      result = { kind: 'error', text: t('adminset.resealFailed', { error: errorText(t, err) }) };
    } finally {
      busy = false;
    }
    render();
    if (again) {
      again = false;
      check();
    }
  }

  session.onChange(() => {
    check();
  });
  return { check };
}
