// A few lines of DOM building. Text always goes in as text nodes and
// attributes through setAttribute/properties: nothing here ever parses HTML,
// so data from the server or a decrypted envelope cannot become markup.

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'required', 'readOnly', 'multiple', 'indeterminate']);

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) {
        if (PROPS.has(k) && v === false) el[k] = false;
        continue;
      }
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'ref') v(el);
      else if (PROPS.has(k)) el[k] = v;
      else if (k.startsWith('on')) throw new Error(`dom: use {on: {…}} for ${k}`);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false || c === true) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

let uid = 0;
export function uniqueId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

// field: a labelled input with an optional hint and an error slot wired up
// through aria-describedby, so screen readers read the hint and the error.
export function field({ label, type = 'text', name, value, hint, required, autocomplete, attrs = {}, control }) {
  const id = uniqueId(name || 'f');
  const hintId = hint ? id + '-hint' : null;
  const errId = id + '-err';
  const input =
    control ||
    h('input', {
      id,
      name,
      type,
      value: value ?? '',
      required: !!required,
      autocomplete,
      ...attrs,
    });
  if (control) input.id = id;
  input.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  const err = h('p', { id: errId, class: 'field-error', hidden: true });
  const wrap = h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    hintId ? h('p', { id: hintId, class: 'hint' }, hint) : null,
    input,
    err,
  );
  return {
    wrap,
    input,
    setError(msg) {
      err.textContent = msg || '';
      err.hidden = !msg;
      if (msg) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    },
  };
}

export function button(label, onClick, { kind = 'primary', type = 'button', ...attrs } = {}) {
  return h('button', { type, class: ['btn', `btn-${kind}`], on: onClick ? { click: onClick } : undefined, ...attrs }, label);
}

// busy disables a form's controls while a slow step runs (key derivation takes
// a second or more) and says so to assistive technology.
export async function busy(form, fn) {
  const controls = [...form.querySelectorAll('button, input, select, textarea')];
  const was = controls.map((c) => c.disabled);
  form.setAttribute('aria-busy', 'true');
  controls.forEach((c) => (c.disabled = true));
  try {
    return await fn();
  } finally {
    form.removeAttribute('aria-busy');
    controls.forEach((c, i) => (c.disabled = was[i]));
  }
}
