// Admin: the custom fields of a note. Definitions are plaintext (labels and
// options are not secret; what volunteers type into them is, and is sealed
// in the note). Fields are added, removed and reordered with buttons, so
// everything works from the keyboard; at most 20; every rule is checked here
// with the message next to the field before PUT /api/fields replaces the
// whole list.
import { h, button, uniqueId } from '../dom.js';
import { FIELD_TYPES, MAX_FIELDS, checkDefinitions, definitionToRow, fieldIdFrom, rowToDefinition } from '../fields.js';
import { tk } from '../i18n.js';
import { errorText, messageArea, notice, title } from './parts.js';

const TYPE_LABELS = {
  text: tk('fieldsAdmin.typeText'),
  textarea: tk('fieldsAdmin.typeTextarea'),
  number: tk('fieldsAdmin.typeNumber'),
  select: tk('fieldsAdmin.typeSelect'),
  checkbox: tk('fieldsAdmin.typeCheckbox'),
};

export async function adminFieldsScreen(ctx) {
  const { t, api } = ctx;
  const msg = messageArea();
  const root = h('div', { class: 'stack' }, title(t('fieldsAdmin.title')), h('p', {}, t('fieldsAdmin.intro')), msg.el);
  let rows;
  try {
    rows = ((await api.fields()).fields || []).map((d) => ({ ...definitionToRow(d), saved: true, key: uniqueId('row') }));
  } catch (err) {
    root.append(notice('error', errorText(t, err)));
    return { title: t('fieldsAdmin.title'), node: root };
  }

  const list = h('ol', { class: 'field-defs stack' });
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  const addBtn = button(t('fieldsAdmin.add'), () => addRow(), { kind: 'secondary' });
  const saveBtn = button(t('common.save'), null, { type: 'submit' });
  // The controls of each row, by row key, for errors and focus.
  let controls = new Map();

  function takenIds(except) {
    return new Set(rows.filter((r) => r !== except).map((r) => r.id));
  }

  function addRow() {
    if (rows.length >= MAX_FIELDS) return;
    const r = { id: '', label: '', type: 'text', required: false, options: '', min: '', max: '', minLength: '', maxLength: '', saved: false, idTouched: false, key: uniqueId('row') };
    r.id = fieldIdFrom('', takenIds(r));
    rows.push(r);
    render(r.key, 'label');
  }

  function move(i, by) {
    const j = i + by;
    if (j < 0 || j >= rows.length) return;
    [rows[i], rows[j]] = [rows[j], rows[i]];
    render(rows[j].key, by < 0 ? 'up' : 'down');
    ctx.announce(t('fieldsAdmin.moved', { label: rows[j].label || rows[j].id, n: j + 1 }));
  }

  function remove(i) {
    const [r] = rows.splice(i, 1);
    render(rows[Math.min(i, rows.length - 1)]?.key, 'label');
    ctx.announce(t('fieldsAdmin.removed', { label: r.label || r.id }));
    if (!rows.length) addBtn.focus();
  }

  function input(r, prop, attrs = {}) {
    const id = `${r.key}-${prop}`;
    const err = h('p', { class: 'field-error', id: id + '-err', hidden: true });
    const el = attrs.tag === 'textarea'
      ? h('textarea', { id, rows: '4', value: r[prop], 'aria-describedby': [attrs.hint ? id + '-hint' : null, id + '-err'].filter(Boolean).join(' ') })
      : h('input', { id, type: 'text', value: r[prop], inputmode: attrs.inputmode, readOnly: !!attrs.readOnly, 'aria-describedby': [attrs.hint ? id + '-hint' : null, id + '-err'].filter(Boolean).join(' ') });
    el.addEventListener('input', () => {
      r[prop] = el.value;
      if (attrs.onInput) attrs.onInput(el.value);
    });
    const wrap = h('div', { class: 'field' }, h('label', { for: id }, attrs.label), attrs.hint ? h('p', { class: 'hint', id: id + '-hint' }, attrs.hint) : null, el, err);
    const c = {
      el,
      setError(p) {
        err.textContent = p ? t(p.key, p.vars) : '';
        err.hidden = !p;
        if (p) el.setAttribute('aria-invalid', 'true');
        else el.removeAttribute('aria-invalid');
      },
    };
    return { wrap, c };
  }

  function rowView(r, i) {
    const cs = {};
    const name = r.label || t('fieldsAdmin.untitled', { n: i + 1 });
    const idIn = input(r, 'id', { label: t('fieldsAdmin.id'), hint: r.saved ? t('fieldsAdmin.idFixed') : t('fieldsAdmin.idHint'), readOnly: r.saved, onInput: () => (r.idTouched = true) });
    const labelIn = input(r, 'label', {
      label: t('fieldsAdmin.label'),
      onInput: (v) => {
        // A new field's id follows its label until someone edits the id.
        if (!r.saved && !r.idTouched) {
          r.id = fieldIdFrom(v, takenIds(r));
          idIn.c.el.value = r.id;
        }
        named(v);
      },
    });
    cs.id = idIn.c;
    cs.label = labelIn.c;
    const typeId = `${r.key}-type`;
    const typeSel = h('select', { id: typeId }, ...FIELD_TYPES.map((ty) => h('option', { value: ty, selected: ty === r.type }, t(TYPE_LABELS[ty]))));
    typeSel.addEventListener('change', () => {
      r.type = typeSel.value;
      render(r.key, 'type');
    });
    const typeErr = h('p', { class: 'field-error', hidden: true });
    cs.type = { el: typeSel, setError: (p) => ((typeErr.textContent = p ? t(p.key, p.vars) : ''), (typeErr.hidden = !p)) };
    const reqId = `${r.key}-req`;
    const req = h('input', { type: 'checkbox', id: reqId, checked: r.required });
    req.addEventListener('change', () => (r.required = req.checked));

    const extra = [];
    if (r.type === 'select') {
      const o = input(r, 'options', { tag: 'textarea', label: t('fieldsAdmin.options'), hint: t('fieldsAdmin.optionsHint') });
      cs.options = o.c;
      extra.push(o.wrap);
    }
    if (r.type === 'number') {
      const a = input(r, 'min', { label: t('fieldsAdmin.min'), inputmode: 'decimal' });
      const b = input(r, 'max', { label: t('fieldsAdmin.max'), inputmode: 'decimal' });
      cs.min = a.c;
      cs.max = b.c;
      extra.push(h('div', { class: 'filter-row' }, a.wrap, b.wrap));
    }
    if (r.type === 'text' || r.type === 'textarea') {
      const a = input(r, 'minLength', { label: t('fieldsAdmin.minLength'), inputmode: 'numeric' });
      const b = input(r, 'maxLength', { label: t('fieldsAdmin.maxLength'), inputmode: 'numeric', hint: t('fieldsAdmin.lengthHint') });
      cs.minLength = a.c;
      cs.maxLength = b.c;
      extra.push(h('div', { class: 'filter-row' }, a.wrap, b.wrap));
    }
    const up = button(t('fieldsAdmin.up'), () => move(i, -1), { kind: 'secondary', disabled: i === 0, 'aria-label': t('fieldsAdmin.upFor', { label: name }) });
    const down = button(t('fieldsAdmin.down'), () => move(i, 1), { kind: 'secondary', disabled: i === rows.length - 1, 'aria-label': t('fieldsAdmin.downFor', { label: name }) });
    const rm = button(t('common.remove'), () => remove(i), { kind: 'danger', 'aria-label': t('fieldsAdmin.removeFor', { label: name }) });
    cs.up = { el: up };
    cs.down = { el: down };
    const legend = h('legend', {}, name);
    // The row's name is in its legend and in its buttons' labels: keep both
    // current while the label is typed.
    function named(v) {
      const n = v || t('fieldsAdmin.untitled', { n: i + 1 });
      legend.textContent = n;
      up.setAttribute('aria-label', t('fieldsAdmin.upFor', { label: n }));
      down.setAttribute('aria-label', t('fieldsAdmin.downFor', { label: n }));
      rm.setAttribute('aria-label', t('fieldsAdmin.removeFor', { label: n }));
    }
    controls.set(r.key, cs);
    return h('li', { dataset: { key: r.key, fieldId: r.id } },
      h('fieldset', {}, legend,
        labelIn.wrap,
        h('div', { class: 'field' }, h('label', { for: typeId }, t('fieldsAdmin.type')), typeSel, typeErr),
        h('div', { class: 'check' }, req, h('label', { for: reqId }, t('fieldsAdmin.required'))),
        ...extra,
        idIn.wrap,
        h('div', { class: 'row' }, up, down, rm)));
  }

  // render redraws the list; focusKey/focusProp put focus back where the
  // action happened (a moved row's button, a new row's label).
  function render(focusKey, focusProp) {
    controls = new Map();
    list.replaceChildren(...rows.map(rowView));
    count.textContent = t('fieldsAdmin.count', { n: rows.length, max: MAX_FIELDS });
    addBtn.disabled = rows.length >= MAX_FIELDS;
    if (focusKey && controls.has(focusKey)) {
      const cs = controls.get(focusKey);
      // A field moved to the top has no "up" any more: its other move
      // button keeps the focus on the same field.
      const order = focusProp === 'up' ? ['up', 'down', 'label'] : focusProp === 'down' ? ['down', 'up', 'label'] : [focusProp, 'label'];
      const target = order.map((p) => cs[p] && cs[p].el).find((el) => el && !el.disabled);
      if (target) target.focus();
    }
  }
  render();

  const form = h('form', { class: 'stack', novalidate: true }, count, list,
    h('p', { class: 'hint' }, t('fieldsAdmin.max20', { max: MAX_FIELDS })),
    h('div', { class: 'row' }, addBtn, saveBtn));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    for (const cs of controls.values()) for (const c of Object.values(cs)) if (c.setError) c.setError(null);
    const defs = [];
    const problems = [];
    rows.forEach((r, i) => {
      const { def, problems: p } = rowToDefinition(r);
      defs.push(def);
      for (const x of p) problems.push({ index: i, ...x });
    });
    const parsed = new Set(problems.map((p) => `${p.index}:${p.prop}`));
    for (const p of checkDefinitions(defs)) if (!parsed.has(`${p.index}:${p.prop}`)) problems.push(p);
    let first = null;
    for (const p of problems) {
      if (p.index < 0) {
        msg.show('error', t(p.key, p.vars));
        continue;
      }
      const c = controls.get(rows[p.index].key)[p.prop];
      if (c && c.setError) {
        c.setError({ key: p.key, vars: p.vars });
        if (!first) first = c.el;
      }
    }
    if (problems.length) {
      if (!msg.el.firstChild) msg.show('error', t('fieldsAdmin.fix'));
      if (first) first.focus();
      return;
    }
    saveBtn.disabled = true;
    try {
      const res = await api.putFields(defs);
      rows = (res.fields || defs).map((d) => ({ ...definitionToRow(d), saved: true, key: uniqueId('row') }));
      render();
      msg.show('ok', t('fieldsAdmin.saved'));
    } catch (err) {
      msg.show('error', errorText(t, err));
    } finally {
      saveBtn.disabled = false;
    }
  });
  root.append(form);
  return { title: t('fieldsAdmin.title'), node: root };
}
