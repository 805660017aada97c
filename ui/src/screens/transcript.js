// A call's transcript, beside its notes: sealed by the daemon to the
// volunteer who answered and to the admins, opened here. Each line says who
// spoke (caller or volunteer) and when, from the answer.
import { h } from '../dom.js';
import { PURPOSE } from '../keys.js';
import { clock, openTranscript } from '../voicemail.js';
import { errorText, notice } from './parts.js';

const SPEAKER = { caller: 'transcript.caller', volunteer: 'transcript.volunteer' };

export function transcriptContext(callId) {
  return { purpose: PURPOSE.TRANSCRIPT, callId, itemId: 'transcript' };
}

// While the call is going on or being transcribed the section asks again
// every PENDING_POLL_MS, for up to an hour, as long as it is on screen.
export const PENDING_POLL_MS = 3000;
export const PENDING_POLLS = 1200;

export async function transcriptSection(ctx, call) {
  const { t } = ctx;
  const head = h('h2', { id: 'transcript-h' }, t('transcript.title'));
  const section = h('section', { 'aria-labelledby': 'transcript-h', class: 'card stack', id: 'call-transcript' }, head);
  let polls = 0;
  const fill = async () => {
    const { body, pending } = await transcriptBody(ctx, call);
    section.replaceChildren(head, ...body);
    if (pending && polls < PENDING_POLLS) {
      polls++;
      setTimeout(() => {
        if (section.isConnected) fill();
      }, PENDING_POLL_MS);
    }
  };
  await fill();
  return section;
}

async function transcriptBody(ctx, call) {
  const { t, api, session } = ctx;
  const body = [];
  let pending = false;
  try {
    const { transcripts } = await api.callTranscripts(call.id);
    if (!transcripts.length) {
      pending = true;
      body.push(h('p', { class: 'muted', dataset: { state: 'pending' } }, t('transcript.pending')));
    }
    for (const tr of transcripts) {
      if (tr.failed) {
        body.push(h('p', { class: 'field-error', dataset: { state: 'failed' } }, t('transcript.failed')));
        continue;
      }
      const o = openTranscript(tr.envelope, transcriptContext(call.id), session.secretKey);
      if (!o.ok) {
        body.push(h('span', { class: 'field-error integrity-error', dataset: { reason: o.reason } }, t(o.reason === 'notRecipient' ? 'integrity.notRecipientShort' : 'integrity.short')));
        continue;
      }
      body.push(o.segments.length
        ? h('ol', { class: 'transcript', dataset: { state: 'done' } }, ...o.segments.map((s) =>
            h('li', { dataset: { speaker: s.speaker } }, h('span', { class: 'muted mono' }, clock(s.start)), ' ', h('strong', {}, t(SPEAKER[s.speaker] || 'transcript.caller')), ': ', s.text)))
        : h('p', { class: 'muted', dataset: { state: 'done' } }, t('transcript.empty')));
    }
  } catch (err) {
    body.push(notice('error', errorText(t, err)));
  }
  return { body, pending };
}
