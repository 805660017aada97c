// Admin settings, rendered from the server's settings object (see
// settings-form.js). Saving replaces the whole object, as the API wants.
import { h, button, busy, uniqueId } from '../dom.js';
import { collect, describe, humanize } from '../settings-form.js';
import { errorText, messageArea, notice, title } from './parts.js';
import { promptsSection } from './admin-prompts.js';

export async function adminSettingsScreen(ctx) {
  const { t, api, session } = ctx;
  const msg = messageArea();
  const root = h('div', { class: 'stack' }, title(t('settings.title')), msg.el);
  let settings;
  try {
    settings = await api.settings();
  } catch (err) {
    root.append(notice('error', errorText(t, err)));
    return { title: t('settings.title'), node: root };
  }

  const tree = describe(settings);
  const controls = new Map(); // path → {read(), setError()}
  const label = (n) => (n.hint.label && ctx.i18n.has(n.hint.label) ? t(n.hint.label) : humanize(n.key));

  function render(n) {
    const id = uniqueId('s');
    const errEl = h('p', { class: 'field-error', id: id + '-err', hidden: true });
    const hintEl = n.hint.hint ? h('p', { class: 'hint', id: id + '-hint' }, t(n.hint.hint)) : null;
    const described = [hintEl ? id + '-hint' : null, id + '-err'].filter(Boolean).join(' ');
    const setError = (e) => {
      errEl.textContent = e ? t(e.key, e.vars) : '';
      errEl.hidden = !e;
    };
    switch (n.kind) {
      case 'group':
        return h('fieldset', { dataset: { path: n.path } }, h('legend', {}, label(n)), hintEl, ...n.children.map(render));
      case 'bool': {
        const input = h('input', { type: 'checkbox', id, checked: !!n.value, 'aria-describedby': described, dataset: { path: n.path } });
        controls.set(n.path, { read: () => input.checked, setError, input });
        return h('div', { class: 'check' }, input, h('div', {}, h('label', { for: id }, label(n)), hintEl, errEl));
      }
      case 'multi': {
        const boxes = n.hint.options.map((o) => {
          const bid = uniqueId('s');
          const b = h('input', { type: 'checkbox', id: bid, value: o, checked: (n.value || []).includes(o) });
          return { b, node: h('div', { class: 'check' }, b, h('label', { for: bid }, n.hint.optionLabels?.[o] || o)) };
        });
        controls.set(n.path, { read: () => boxes.filter((x) => x.b.checked).map((x) => x.b.value), setError, input: boxes[0]?.b });
        return h('fieldset', { dataset: { path: n.path }, 'aria-describedby': described }, h('legend', {}, label(n)), hintEl, ...boxes.map((x) => x.node), errEl);
      }
      case 'enum': {
        const sel = h('select', { id, 'aria-describedby': described, dataset: { path: n.path } },
          ...n.hint.options.map((o) => h('option', { value: o, selected: o === n.value }, n.hint.optionLabels?.[o] ? t(n.hint.optionLabels[o]) : o)));
        controls.set(n.path, { read: () => sel.value, setError, input: sel });
        return h('div', { class: 'field' }, h('label', { for: id }, label(n)), hintEl, sel, errEl);
      }
      case 'opaque':
        return null;
      default: {
        const attrs = { id, 'aria-describedby': described, dataset: { path: n.path } };
        let input;
        if (n.kind === 'number') {
          input = h('input', { ...attrs, type: 'number', value: String(n.value), min: n.hint.min, max: n.hint.max, step: n.hint.integer ? '1' : 'any', inputmode: 'numeric' });
        } else if (n.kind === 'list') {
          input = h('input', { ...attrs, type: 'text', value: (n.value || []).join(', ') });
        } else {
          input = h('input', { ...attrs, type: 'text', value: n.value ?? '', maxlength: n.hint.maxLength });
          if (n.kind === 'timezone' && typeof Intl.supportedValuesOf === 'function') {
            input.setAttribute('list', id + '-zones');
          }
        }
        controls.set(n.path, { read: () => input.value, setError, input });
        const wrap = h('div', { class: 'field' }, h('label', { for: id }, label(n)), hintEl, input, errEl);
        if (n.kind === 'timezone' && input.getAttribute('list')) {
          wrap.append(h('datalist', { id: input.getAttribute('list') }, ...Intl.supportedValuesOf('timeZone').map((z) => h('option', { value: z }))));
        }
        return wrap;
      }
    }
  }

  const form = h('form', { class: 'card', novalidate: true }, ...tree.map(render), button(t('common.save'), null, { type: 'submit' }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    const { value, errors } = collect(tree, (p) => controls.get(p)?.read());
    let first = null;
    for (const [p, c] of controls) {
      c.setError(errors[p]);
      if (errors[p] && !first) first = c.input;
    }
    if (first) {
      msg.show('error', t('settings.fixErrors'));
      first.focus();
      return;
    }
    // Requiring passkeys for admins while this admin has none would lock
    // them out at the next login.
    const me = session.me || {};
    if (value.passkeyPolicy?.admins && !settings.passkeyPolicy?.admins && !(me.passkeys > 0)) {
      msg.show('error', t('settings.needOwnPasskey'));
      controls.get('passkeyPolicy.admins')?.input.focus();
      return;
    }
    // Turning a passkey requirement on locks out whoever has none yet: say
    // how many, after saving, so the admin can follow up with them.
    const newlyRequired = ['admins', 'volunteers'].filter((k) => value.passkeyPolicy?.[k] && !settings.passkeyPolicy?.[k]);
    await busy(form, async () => {
      try {
        let without = 0;
        if (newlyRequired.length) {
          try {
            const { volunteers } = await api.volunteers();
            without = volunteers.filter((v) => v.active && v.passkeys === 0 && newlyRequired.includes(v.role === 'admin' ? 'admins' : 'volunteers')).length;
          } catch {
            // Only a warning; saving goes on.
          }
        }
        const saved = await api.putSettings(value);
        settings = saved && typeof saved === 'object' ? saved : value;
        if (settings.passkeyPolicy) ctx.config.passkeyPolicy = settings.passkeyPolicy;
        if (settings.hotlineName) ctx.setHotlineName(settings.hotlineName);
        msg.show('ok', t('settings.saved'));
        if (without > 0) msg.el.append(notice('warn', t('settings.passkeyLockout', { n: without })));
      } catch (err) {
        msg.show('error', errorText(t, err));
      }
    });
  });
  root.append(form, await promptsSection(ctx));
  return { title: t('settings.title'), node: root };
}
