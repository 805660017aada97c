// Caller prompts, under the admin settings: listen to each prompt in each
// of the hotline's languages, replace it with a recording (converted here to
// 8 kHz WAV, checked again by the daemon), or go back to the shipped one.
import { h, button, busy, uniqueId } from '../dom.js';
import { tk } from '../i18n.js';
import { errorText, notice } from './parts.js';
import { PromptFileError, toPromptWav } from '../prompt-audio.js';

const LANG_NAMES = { en: 'English', es: 'Español' };

const NAMES = {
  'language-menu': tk('prompts.nameLanguageMenu'),
  'captcha-intro': tk('prompts.nameCaptchaIntro'),
  'captcha-retry': tk('prompts.nameCaptchaRetry'),
  'captcha-fail': tk('prompts.nameCaptchaFail'),
  transcribed: tk('prompts.nameTranscribed'),
  greeting: tk('prompts.nameGreeting'),
  busy: tk('prompts.nameBusy'),
  unavailable: tk('prompts.nameUnavailable'),
  voicemail: tk('prompts.nameVoicemail'),
  error: tk('prompts.nameError'),
};

const STATES = {
  default: tk('prompts.stateDefault'),
  custom: tk('prompts.stateCustom'),
  missing: tk('prompts.stateMissing'),
};

export async function promptsSection(ctx) {
  const { t, api } = ctx;
  const section = h('section', { class: 'card stack', 'aria-labelledby': 'prompts-title' },
    h('h2', { id: 'prompts-title' }, t('prompts.title')));
  let view;
  try {
    view = await api.prompts();
  } catch (err) {
    section.append(notice('error', errorText(t, err)));
    return section;
  }
  section.append(h('p', { class: 'hint' }, t('prompts.hint', { min: view.minSeconds, max: view.maxSeconds })));
  if (!view.editable) section.append(notice('warn', t('prompts.notEditable')));
  for (const lang of view.languages) {
    const rows = view.prompts.filter((p) => p.lang === lang).map((p) => promptRow(ctx, view, p));
    section.append(h('fieldset', { class: 'prompts', dataset: { lang } }, h('legend', {}, LANG_NAMES[lang] || lang), ...rows));
  }
  return section;
}

function promptRow(ctx, view, p) {
  const { t, api } = ctx;
  const id = uniqueId('p');
  const name = NAMES[p.name] ? t(NAMES[p.name]) : p.name;
  const row = h('div', { class: 'prompt', dataset: { prompt: p.name, lang: p.lang } });
  const msg = h('div', { class: 'messages', role: 'status', 'aria-live': 'polite' });
  let version = 0;

  function render(cur) {
    const state = h('p', { class: 'hint', id: id + '-state' }, t(STATES[cur.state] || STATES.missing, { seconds: cur.seconds.toFixed(1) }));
    const player = cur.state === 'missing'
      ? null
      : h('audio', { controls: true, preload: 'none', src: api.promptUrl(cur.lang, cur.name) + '?v=' + version, 'aria-label': t('prompts.listen', { prompt: name }) });
    const file = h('input', { type: 'file', id: id + '-file', accept: 'audio/*', disabled: !view.editable, 'aria-describedby': id + '-state' });
    file.addEventListener('change', () => upload(file));
    const actions = h('div', { class: 'row' },
      h('label', { for: id + '-file', class: 'file-label' }, t('prompts.replace', { prompt: name })), file);
    if (cur.state === 'custom' && cur.default && view.editable) {
      actions.append(button(t('prompts.revert'), () => revert(), { kind: 'secondary' }));
    }
    row.replaceChildren(h('h3', {}, name), state, ...(player ? [player] : []), actions, msg);
  }

  async function upload(input) {
    const f = input.files && input.files[0];
    if (!f) return;
    msg.replaceChildren();
    await busy(row, async () => {
      try {
        const { wav } = await toPromptWav(await f.arrayBuffer(), { minSeconds: view.minSeconds, maxSeconds: view.maxSeconds });
        const saved = await api.putPrompt(p.lang, p.name, wav);
        version++;
        render(saved);
        msg.replaceChildren(notice('ok', t('prompts.saved', { prompt: name })));
      } catch (err) {
        input.value = '';
        msg.replaceChildren(notice('error', refusal(t, err)));
      }
    });
  }

  async function revert() {
    msg.replaceChildren();
    await busy(row, async () => {
      try {
        const saved = await api.revertPrompt(p.lang, p.name);
        version++;
        render(saved);
        msg.replaceChildren(notice('ok', t('prompts.reverted', { prompt: name })));
      } catch (err) {
        msg.replaceChildren(notice('error', refusal(t, err)));
      }
    });
  }

  render(p);
  return row;
}

// refusal says why a recording was not taken: the browser's own checks in
// the admin's language, the daemon's with its reason as a detail.
function refusal(t, err) {
  if (err instanceof PromptFileError) return t(err.key, err.vars);
  if (err && err.code === 'bad_recording') return t('prompts.errRefused', { detail: err.message });
  return errorText(t, err);
}
