// Admin: who is rung when. Weekly shifts (days, start and end in the
// hotline's time zone, volunteers chosen by their decrypted names), per-date
// overrides (cancel a day's shifts, or substitute who takes them), and the
// fallback group rung when nobody on shift is available. PUT /api/shifts replaces
// the whole schedule.
import { h, button, uniqueId } from '../dom.js';
import { WEEK, checkShifts, fromResponse, newRule, overnight, toRequest, whoRings } from '../shifts.js';
import { loadPeople } from './people.js';
import { errorText, messageArea, notice, title } from './parts.js';

function weekdayName(lang, d) {
  // 2024-01-07 was a Sunday (day 0).
  return new Intl.DateTimeFormat(lang, { weekday: 'long', timeZone: 'UTC' }).format(new Date(Date.UTC(2024, 0, 7 + d)));
}

export async function adminShiftsScreen(ctx) {
  const { t, api } = ctx;
  const msg = messageArea();
  const root = h('div', { class: 'stack' }, title(t('shifts.title')), msg.el);
  let state;
  let people;
  let tz = 'UTC';
  try {
    const [s, p, settings] = await Promise.all([api.shifts(), loadPeople(ctx), api.settings()]);
    state = fromResponse(s);
    people = p;
    tz = settings.timeZone || 'UTC';
  } catch (err) {
    root.append(notice('error', errorText(t, err)));
    return { title: t('shifts.title'), node: root };
  }
  let nowText = '';
  try {
    nowText = new Intl.DateTimeFormat(ctx.i18n.lang, { timeZone: tz, weekday: 'long', hour: '2-digit', minute: '2-digit' }).format(new Date());
  } catch {
    // An unknown zone is the settings screen's problem; say only the name.
  }
  const onShiftNow = people.list.filter((p) => p.onShift).map((p) => people.plainName(p.pubkey));
  // What the engine does with the schedule as saved, not as being edited.
  const ringsEl = h('p', { class: 'notice', id: 'who-rings' });
  const showWhoRings = (saved) => {
    const names = saved.fallback.map((pk) => people.plainName(pk)).join(', ');
    ringsEl.textContent = t(whoRings(saved), { names });
  };
  showWhoRings(state);
  root.append(
    h('p', {}, t('shifts.zone', { zone: tz, now: nowText })),
    ringsEl,
    h('p', { class: 'muted', id: 'on-shift-now' }, onShiftNow.length ? t('shifts.onShiftNow', { names: onShiftNow.join(', ') }) : t('shifts.nobodyNow')),
  );

  const lang = ctx.i18n.lang;
  const rulesEl = h('div', { class: 'stack' });
  const overridesEl = h('div', { class: 'stack' });
  const fallbackEl = h('div');
  let errorSlots = new Map(); // 'rule:0:days' → {set, focus}

  // volunteerChecks: a fieldset of checkboxes over the people who can be
  // scheduled (active ones, plus anyone already chosen).
  function volunteerChecks(legendText, selected, onChange, key) {
    const errId = uniqueId('err');
    const err = h('p', { class: 'field-error', id: errId, hidden: true });
    const candidates = people.list.filter((p) => p.active || selected.includes(p.pubkey));
    const boxes = candidates.map((p) => {
      const id = uniqueId('vol');
      const b = h('input', { type: 'checkbox', id, value: p.pubkey, checked: selected.includes(p.pubkey) });
      b.addEventListener('change', () => onChange([...fs.querySelectorAll('input:checked')].map((x) => x.value)));
      return h('div', { class: 'check' }, b, h('label', { for: id }, people.plainName(p.pubkey), p.active ? '' : ` (${t('vol.inactive')})`));
    });
    const fs = h('fieldset', { class: 'vol-checks', 'aria-describedby': errId }, h('legend', {}, legendText), ...(boxes.length ? boxes : [h('p', { class: 'muted' }, t('shifts.nobody'))]), err);
    if (key) errorSlots.set(key, { set: (p) => ((err.textContent = p ? t(p.key, p.vars) : ''), (err.hidden = !p)), focus: () => (fs.querySelector('input') || fs).focus() });
    return fs;
  }

  function labelled(labelText, control, key, hint) {
    const id = control.id || uniqueId('sf');
    control.id = id;
    const err = h('p', { class: 'field-error', id: id + '-err', hidden: true });
    control.setAttribute('aria-describedby', [hint ? id + '-hint' : null, id + '-err'].filter(Boolean).join(' '));
    if (key) {
      errorSlots.set(key, {
        set: (p) => {
          err.textContent = p ? t(p.key, p.vars) : '';
          err.hidden = !p;
          if (p) control.setAttribute('aria-invalid', 'true');
          else control.removeAttribute('aria-invalid');
        },
        focus: () => control.focus(),
      });
    }
    return h('div', { class: 'field' }, h('label', { for: id }, labelText), hint ? h('p', { class: 'hint', id: id + '-hint' }, hint) : null, control, err);
  }

  function ruleView(r, i) {
    const name = h('input', { type: 'text', value: r.name, maxlength: '80' });
    name.addEventListener('input', () => {
      r.name = name.value;
      legend.textContent = r.name || t('shifts.untitled', { n: i + 1 });
    });
    const dayErr = h('p', { class: 'field-error', hidden: true });
    const days = h('fieldset', { class: 'days' }, h('legend', {}, t('shifts.days')),
      ...WEEK.map((d) => {
        const id = uniqueId('day');
        const b = h('input', { type: 'checkbox', id, checked: r.days.includes(d) });
        b.addEventListener('change', () => {
          r.days = b.checked ? [...r.days, d] : r.days.filter((x) => x !== d);
        });
        return h('div', { class: 'check' }, b, h('label', { for: id }, weekdayName(lang, d)));
      }), dayErr);
    errorSlots.set(`rule:${i}:days`, { set: (p) => ((dayErr.textContent = p ? t(p.key) : ''), (dayErr.hidden = !p)), focus: () => days.querySelector('input').focus() });
    // A time input cannot say 24:00, the end of a whole day: "All day"
    // sets 00:00 to 24:00 instead of leaving a minute uncovered.
    const allDay = r.start === '00:00' && r.end === '24:00';
    const start = h('input', { type: 'time', value: r.start, step: '60', disabled: allDay });
    const end = h('input', { type: 'time', value: allDay ? '' : r.end, step: '60', disabled: allDay });
    const allId = uniqueId('allday');
    const all = h('input', { type: 'checkbox', id: allId, checked: allDay });
    all.addEventListener('change', () => {
      if (all.checked) {
        r.start = '00:00';
        r.end = '24:00';
      } else {
        r.start = start.value = '09:00';
        r.end = end.value = '17:00';
      }
      start.disabled = end.disabled = all.checked;
      if (all.checked) end.value = '';
      paintNight();
    });
    const night = h('p', { class: 'hint' });
    const paintNight = () => (night.textContent = overnight(r) ? t('shifts.overnight') : '');
    start.addEventListener('input', () => ((r.start = start.value), paintNight()));
    end.addEventListener('input', () => ((r.end = end.value), paintNight()));
    paintNight();
    const legend = h('legend', {}, r.name || t('shifts.untitled', { n: i + 1 }));
    return h('fieldset', { class: 'card shift-rule', dataset: { ruleId: r.id } }, legend,
      labelled(t('shifts.name'), name, `rule:${i}:name`, t('shifts.nameHint')),
      days,
      h('div', { class: 'check' }, all, h('label', { for: allId }, t('shifts.allDay'))),
      h('div', { class: 'filter-row' }, labelled(t('shifts.start'), start, `rule:${i}:start`), labelled(t('shifts.end'), end, `rule:${i}:end`)),
      night,
      volunteerChecks(t('shifts.volunteers'), r.volunteers, (v) => (r.volunteers = v)),
      button(t('shifts.removeRule'), () => {
        state.rules.splice(i, 1);
        // Overrides of a removed shift would point at nothing.
        state.overrides = state.overrides.filter((o) => o.ruleId !== r.id);
        render();
        addRuleBtn.focus();
      }, { kind: 'danger', 'aria-label': t('shifts.removeRuleFor', { name: r.name || t('shifts.untitled', { n: i + 1 }) }) }));
  }

  function overrideView(o, i) {
    const date = h('input', { type: 'date', value: o.date });
    date.addEventListener('input', () => (o.date = date.value));
    const rule = h('select', {}, h('option', { value: '' }, t('shifts.allShifts')),
      ...state.rules.map((r, j) => h('option', { value: r.id, selected: r.id === o.ruleId }, r.name || t('shifts.untitled', { n: j + 1 }))));
    rule.addEventListener('change', () => (o.ruleId = rule.value));
    const kind = h('select', { dataset: { kind: '' } },
      h('option', { value: 'cancel', selected: o.kind === 'cancel' }, t('shifts.kindCancel')),
      h('option', { value: 'substitute', selected: o.kind === 'substitute' }, t('shifts.kindSubstitute')));
    kind.addEventListener('change', () => {
      o.kind = kind.value;
      render();
      overridesEl.querySelectorAll('fieldset.override')[i]?.querySelector('select[data-kind]')?.focus();
    });
    return h('fieldset', { class: 'card override' }, h('legend', {}, t('shifts.overrideN', { n: i + 1 })),
      h('div', { class: 'filter-row' },
        labelled(t('shifts.date'), date, `override:${i}:date`),
        labelled(t('shifts.which'), rule, `override:${i}:ruleId`),
        labelled(t('shifts.kind'), kind, null)),
      o.kind === 'substitute' ? volunteerChecks(t('shifts.substitutes'), o.volunteers, (v) => (o.volunteers = v), `override:${i}:volunteers`) : null,
      button(t('shifts.removeOverride'), () => {
        state.overrides.splice(i, 1);
        render();
        addOverrideBtn.focus();
      }, { kind: 'danger', 'aria-label': t('shifts.removeOverrideFor', { n: i + 1 }) }));
  }

  function render() {
    errorSlots = new Map();
    rulesEl.replaceChildren(...(state.rules.length ? state.rules.map(ruleView) : [h('p', { class: 'muted' }, t('shifts.noRules'))]));
    overridesEl.replaceChildren(...state.overrides.map(overrideView));
    fallbackEl.replaceChildren(volunteerChecks(t('shifts.fallback'), state.fallback, (v) => (state.fallback = v)));
  }

  const addRuleBtn = button(t('shifts.addRule'), () => {
    state.rules.push(newRule(crypto.randomUUID()));
    render();
    rulesEl.querySelector('fieldset.shift-rule:last-of-type input')?.focus();
  }, { kind: 'secondary' });
  const addOverrideBtn = button(t('shifts.addOverride'), () => {
    state.overrides.push({ date: new Date().toISOString().slice(0, 10), ruleId: '', kind: 'cancel', volunteers: [] });
    render();
    overridesEl.querySelector('fieldset.override:last-of-type input')?.focus();
  }, { kind: 'secondary' });

  render();
  const saveBtn = button(t('common.save'), null, { type: 'submit' });
  const form = h('form', { class: 'stack', novalidate: true },
    h('section', { class: 'stack', 'aria-labelledby': 'rules-h' }, h('h2', { id: 'rules-h' }, t('shifts.rules')), rulesEl, addRuleBtn),
    h('section', { class: 'stack', 'aria-labelledby': 'ov-h' }, h('h2', { id: 'ov-h' }, t('shifts.overrides')), h('p', { class: 'hint' }, t('shifts.overridesHint')), overridesEl, addOverrideBtn),
    h('section', { class: 'stack', 'aria-labelledby': 'fb-h' }, h('h2', { id: 'fb-h' }, t('shifts.fallbackTitle')), h('p', { class: 'hint' }, t('shifts.fallbackHint')), fallbackEl),
    saveBtn);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    for (const s of errorSlots.values()) s.set(null);
    const problems = checkShifts(state);
    if (problems.length) {
      for (const p of problems) errorSlots.get(`${p.where}:${p.index}:${p.prop}`)?.set(p);
      msg.show('error', t('shifts.fix'));
      const p = problems[0];
      errorSlots.get(`${p.where}:${p.index}:${p.prop}`)?.focus();
      return;
    }
    saveBtn.disabled = true;
    try {
      state = fromResponse(await api.putShifts(toRequest(state)));
      render();
      showWhoRings(state);
      msg.show('ok', t('shifts.saved'));
    } catch (err) {
      msg.show('error', errorText(t, err));
    } finally {
      saveBtn.disabled = false;
    }
  });
  root.append(form);
  return { title: t('shifts.title'), node: root };
}
