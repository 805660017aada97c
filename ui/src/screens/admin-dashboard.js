// Admin: the last 24 hours and the last 7 days of calls, counted by the
// server from call metadata only (times, outcomes, who answered): no note
// and no caller number is read for it. Volunteers are shown by the names
// this browser can decrypt.
import { h, button } from '../dom.js';
import { durationText } from '../morning.js';
import { loadPeople } from './people.js';
import { errorText, messageArea, title } from './parts.js';

export async function adminDashboardScreen(ctx) {
  const { t, api, i18n } = ctx;
  const msg = messageArea();
  let people;
  let peopleError = '';
  try {
    people = await loadPeople(ctx);
  } catch (err) {
    peopleError = errorText(t, err);
    people = { nameOf: (pk) => pk.slice(0, 12) + '…' };
  }
  const num = (n) => new Intl.NumberFormat(i18n.lang).format(n);
  const asOf = h('p', { class: 'muted', 'aria-live': 'polite' });
  const windows = h('div', { class: 'stack' });
  // Whether this server transcribes, and if not the server's reason (a
  // build without whisper.cpp, no model, a model that fails verification).
  const transcription = h('p', { dataset: { transcription: '' } });

  function stat(key, value, name, extra) {
    return h('tr', { dataset: { stat: name } },
      h('th', { scope: 'row' }, t(key)),
      h('td', { class: 'stat-value' }, value),
      h('td', { class: 'muted' }, extra || ''));
  }

  function times(d) {
    return d.count ? [durationText(d.medianMs, i18n.lang), durationText(d.p90Ms, i18n.lang), t('dash.ofCalls', { n: num(d.count) })] : ['—', '—', t('dash.noTimes')];
  }

  function section(id, headKey, s, voicemailTaken) {
    const other = s.refused + s.failed + s.leftEarly + s.live;
    const [qm, qp, qn] = times(s.queueWait);
    const [rm, rp, rn] = times(s.ringToAnswer);
    const vols = s.byVolunteer.length
      ? h('table', { class: 'responsive by-volunteer' },
          h('caption', {}, t('dash.byVolunteer')),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('vol.name')), h('th', { scope: 'col' }, t('dash.answered')))),
          h('tbody', {}, ...s.byVolunteer.map((v) => h('tr', { dataset: { pubkey: v.pubkey } },
            h('td', { 'data-label': t('vol.name') }, people.nameOf(v.pubkey)),
            h('td', { 'data-label': t('dash.answered') }, num(v.answered))))))
      : h('p', { class: 'muted' }, t('dash.noneAnswered'));
    return h('section', { class: 'card', 'aria-labelledby': `${id}-h`, dataset: { window: id } },
      h('h2', { id: `${id}-h` }, t(headKey)),
      h('table', { class: 'stats' },
        h('caption', { class: 'visually-hidden' }, t('dash.counts')),
        h('tbody', {},
          stat('dash.offered', num(s.offered), 'offered', t('dash.offeredHint')),
          stat('dash.answered', num(s.answered), 'answered'),
          stat('dash.missed', num(s.missed), 'missed', t('dash.missedHint')),
          stat('dash.abandoned', num(s.abandoned), 'abandoned', t('dash.abandonedHint')),
          stat('dash.voicemail', num(s.voicemail), 'voicemail', voicemailTaken ? '' : t('dash.voicemailNotTaken')),
          stat('dash.other', num(other), 'other', t('dash.otherHint', { refused: num(s.refused), failed: num(s.failed), early: num(s.leftEarly), live: num(s.live) })))),
      h('table', { class: 'stats' },
        h('caption', {}, t('dash.times')),
        h('thead', {}, h('tr', {}, h('td'), h('th', { scope: 'col' }, t('dash.median')), h('th', { scope: 'col' }, t('dash.p90')), h('td'))),
        h('tbody', {},
          h('tr', { dataset: { stat: 'queueWait' } }, h('th', { scope: 'row' }, t('dash.queueWait')), h('td', {}, qm), h('td', {}, qp), h('td', { class: 'muted' }, qn)),
          h('tr', { dataset: { stat: 'ringToAnswer' } }, h('th', { scope: 'row' }, t('dash.ringToAnswer')), h('td', {}, rm), h('td', {}, rp), h('td', { class: 'muted' }, rn)))),
      vols);
  }

  async function load() {
    try {
      const d = await api.dashboard();
      windows.replaceChildren(section('day', 'dash.day', d.day, d.voicemailTaken), section('week', 'dash.week', d.week, d.voicemailTaken));
      asOf.textContent = t('dash.asOf', { time: ctx.formatTime(d.at) });
      const tr = d.transcription || {};
      transcription.dataset.transcription = tr.available ? 'on' : 'off';
      transcription.textContent = tr.available ? t('dash.transcriptionOn') : t('dash.transcriptionOff', { reason: tr.reason || '' });
      // Names that did not load stay explained; an earlier failure of this
      // load does not.
      if (peopleError) msg.show('error', peopleError);
      else msg.clear();
    } catch (err) {
      msg.show('error', errorText(t, err));
    }
  }
  await load();
  const node = h('div', { class: 'stack' },
    title(t('dash.title')),
    h('p', {}, t('dash.intro')),
    h('div', { class: 'row' }, button(t('common.refresh'), () => load(), { kind: 'secondary' })),
    msg.el, asOf, transcription, windows);
  return { title: t('dash.title'), node };
}
