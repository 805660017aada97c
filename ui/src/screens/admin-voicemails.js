// Admin: voicemails, newest first, new ones apart from handled ones; one
// voicemail's transcript and a player. The audio and the transcript arrive
// sealed to the admins and are opened here; the player decodes the µ-law
// and plays it through WebAudio, in this page only. Volunteers never see
// voicemails (there is no assigning one to a volunteer).
import { h, button } from '../dom.js';
import { clock, createPlayer, openAudio, openTranscript, transcriptContext } from '../voicemail.js';
import { loadPeople } from './people.js';
import { errorText, messageArea, notice, title } from './parts.js';

function languageName(code, lang) {
  try {
    return new Intl.DisplayNames([lang], { type: 'language' }).of(code) || code;
  } catch {
    return code || '—';
  }
}

function integrity(t, reason) {
  return h('span', { class: 'field-error integrity-error', dataset: { reason } }, t(reason === 'notRecipient' ? 'integrity.notRecipientShort' : 'integrity.short'));
}

function noTranscription(t) {
  return notice('info', t('vm.noTranscription'), { id: 'vm-no-transcription' });
}

const TRANSCRIPTION = { none: 'vm.trNone', pending: 'vm.trPending', done: 'vm.trDone', failed: 'vm.trFailed' };

function transcriptionText(t, v) {
  return t(TRANSCRIPTION[v.transcription] || 'vm.trNone');
}

export async function adminVoicemailsScreen(ctx) {
  const { t, api, i18n } = ctx;
  const msg = messageArea();
  const root = h('div', { class: 'stack' }, title(t('vm.title')), h('p', {}, t('vm.intro')), msg.el);
  let data;
  try {
    data = await api.voicemails();
  } catch (err) {
    root.append(notice('error', errorText(t, err)));
    return { title: t('vm.title'), node: root };
  }
  if (!data.transcription) root.append(noTranscription(t));
  const row = (v) =>
    h('tr', { dataset: { callId: v.callId, handled: v.handledAt ? 'yes' : 'no' } },
      h('td', { 'data-label': t('vm.when') }, h('a', { href: `#/admin/voicemails/${encodeURIComponent(v.callId)}` }, ctx.formatTime(v.createdAt))),
      h('td', { 'data-label': t('vm.length') }, clock(v.lengthMs)),
      h('td', { 'data-label': t('vm.language') }, languageName(v.language, i18n.lang)),
      h('td', { 'data-label': t('vm.transcript') }, transcriptionText(t, v)));
  const table = (caption, list, id) =>
    h('section', { 'aria-labelledby': `${id}-h`, id },
      h('h2', { id: `${id}-h` }, caption, ' ', h('span', { class: 'muted' }, `(${list.length})`)),
      list.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'responsive' },
            h('thead', {}, h('tr', {}, ...['vm.when', 'vm.length', 'vm.language', 'vm.transcript'].map((k) => h('th', { scope: 'col' }, t(k))))),
            h('tbody', {}, ...list.map(row))))
        : h('p', { class: 'muted' }, t('vm.none')));
  const fresh = data.voicemails.filter((v) => !v.handledAt);
  const handled = data.voicemails.filter((v) => v.handledAt);
  root.append(table(t('vm.new'), fresh, 'vm-new'), table(t('vm.handled'), handled, 'vm-handled'));
  return { title: t('vm.title'), node: root };
}

export async function adminVoicemailScreen(ctx, params) {
  const { t, api, session, i18n } = ctx;
  const msg = messageArea();
  const back = h('p', {}, h('a', { href: '#/admin/voicemails' }, t('vm.back')));
  const root = h('div', { class: 'stack' }, back, title(t('vm.one')), msg.el);
  let v;
  let people;
  try {
    [v, people] = await Promise.all([api.voicemail(params.id), loadPeople(ctx)]);
  } catch (err) {
    root.append(notice('error', errorText(t, err)));
    return { title: t('vm.one'), node: root };
  }
  let player = null;
  const facts = h('dl', { class: 'facts' });
  const handledLine = h('p', { id: 'vm-handled-state' });
  function renderFacts() {
    facts.replaceChildren(
      h('dt', {}, t('vm.when')), h('dd', {}, ctx.formatTime(v.createdAt)),
      h('dt', {}, t('vm.length')), h('dd', {}, clock(v.lengthMs)),
      h('dt', {}, t('vm.language')), h('dd', {}, languageName(v.language, i18n.lang)),
      h('dt', {}, t('vm.call')), h('dd', {}, h('a', { href: `#/calls/${encodeURIComponent(v.callId)}` }, t('vm.openCall'))));
    handledLine.replaceChildren(v.handledAt ? t('vm.handledBy', { who: people.nameOf(v.handledBy), when: ctx.formatTime(v.handledAt) }) : t('vm.notHandled'));
  }
  renderFacts();
  const toggle = button(v.handledAt ? t('vm.markNew') : t('vm.markHandled'), async () => {
    toggle.disabled = true;
    try {
      v = { ...v, ...(await api.setVoicemailHandled(v.callId, !v.handledAt)) };
      toggle.textContent = v.handledAt ? t('vm.markNew') : t('vm.markHandled');
      renderFacts();
      ctx.announce(v.handledAt ? t('vm.markedHandled') : t('vm.markedNew'));
    } catch (err) {
      msg.show('error', errorText(t, err));
    } finally {
      toggle.disabled = false;
    }
  }, { kind: 'secondary', id: 'vm-toggle' });

  // The player.
  const audioSection = h('section', { class: 'card', 'aria-labelledby': 'vm-audio-h', id: 'vm-audio' }, h('h2', { id: 'vm-audio-h' }, t('vm.audio')));
  if (!v.hasAudio) {
    audioSection.append(h('p', { class: 'muted' }, t('vm.audioNotKept')));
  } else {
    const opened = openAudio(v, session.secretKey);
    if (!opened.ok) {
      audioSection.append(integrity(t, opened.reason));
    } else {
      const play = button(t('vm.play'), () => {
        if (player.playing) player.stop();
        else {
          player.play();
          play.textContent = t('vm.stop');
        }
      }, { id: 'vm-play' });
      player = createPlayer(opened.samples, {
        onEnd: () => {
          play.textContent = t('vm.play');
        },
      });
      if (player) audioSection.append(play);
      else audioSection.append(notice('error', t('vm.noWebAudio')));
    }
  }

  // The transcript.
  const trSection = h('section', { class: 'card', 'aria-labelledby': 'vm-tr-h', id: 'vm-transcript' }, h('h2', { id: 'vm-tr-h' }, t('vm.transcript')));
  if (v.transcription === 'done') {
    const o = openTranscript(v.transcript, transcriptContext(v.callId), session.secretKey);
    if (!o.ok) trSection.append(integrity(t, o.reason));
    else if (!o.segments.length) trSection.append(h('p', { class: 'muted' }, t('vm.trEmpty')));
    else trSection.append(h('ol', { class: 'transcript' }, ...o.segments.map((s) => h('li', {}, h('span', { class: 'muted mono' }, clock(s.start)), ' ', s.text))));
  } else {
    trSection.append(h('p', { class: v.transcription === 'failed' ? 'field-error' : 'muted', dataset: { state: v.transcription } }, transcriptionText(t, v)));
  }
  root.append(facts, handledLine, toggle, audioSection, trSection);
  return {
    title: t('vm.one'),
    node: root,
    cleanup: () => {
      if (player) player.stop();
    },
  };
}
