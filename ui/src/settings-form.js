// The admin settings form is generated from the settings object the server
// returns, so a setting added on the server shows up without UI work: booleans
// become checkboxes, numbers number inputs, strings text inputs, nested
// objects fieldsets. HINTS adds labels, ranges and choices for the settings we
// know; anything else is labelled from its name. Values the form cannot edit
// (null, lists of objects) are carried through unchanged, because PUT
// replaces the whole object.
import { tk } from './i18n.js';

export const HINTS = {
  hotlineName: { label: tk('settings.hotlineName'), maxLength: 100, required: true },
  timeZone: { label: tk('settings.timeZone'), hint: tk('settings.timeZoneHint'), kind: 'timezone', required: true },
  languages: { label: tk('settings.languages'), kind: 'multi', options: ['en', 'es'], optionLabels: { en: 'English', es: 'Español' }, required: true },
  queueTimeoutSeconds: { label: tk('settings.queueTimeoutSeconds'), hint: tk('settings.queueTimeoutHint'), min: 30, max: 300, integer: true },
  voicemailMode: {
    label: tk('settings.voicemailMode'),
    kind: 'enum',
    options: ['auto', 'always', 'never'],
    optionLabels: { auto: tk('settings.voicemailAuto'), always: tk('settings.voicemailAlways'), never: tk('settings.voicemailNever') },
  },
  voicemail: { label: tk('settings.voicemail') },
  'voicemail.mode': {
    label: tk('settings.voicemailMode'),
    kind: 'enum',
    options: ['auto', 'always', 'never'],
    optionLabels: { auto: tk('settings.voicemailAuto'), always: tk('settings.voicemailAlways'), never: tk('settings.voicemailNever') },
  },
  'voicemail.maxSeconds': { label: tk('settings.voicemailMaxSeconds'), min: 10, max: 600, integer: true },
  'voicemail.keepAudio': { label: tk('settings.voicemailKeepAudio'), hint: tk('settings.voicemailKeepAudioHint') },
  recording: { label: tk('settings.recording'), hint: tk('settings.recordingHint') },
  callTranscripts: { label: tk('settings.callTranscripts'), hint: tk('settings.callTranscriptsHint') },
  rateLimit: { label: tk('settings.rateLimit') },
  'rateLimit.enabled': { label: tk('settings.rateLimitEnabled') },
  'rateLimit.callsPerMinute': { label: tk('settings.callsPerMinute'), min: 1, max: 60, integer: true },
  captcha: { label: tk('settings.captcha') },
  'captcha.enabled': { label: tk('settings.captchaEnabled') },
  'captcha.maxAttempts': { label: tk('settings.captchaMaxAttempts'), min: 1, max: 10, integer: true },
  'captcha.digits': { label: tk('settings.captchaDigits'), min: 3, max: 8, integer: true },
  passkeyPolicy: { label: tk('settings.passkeyPolicy'), hint: tk('settings.passkeyPolicyHint') },
  'passkeyPolicy.admins': { label: tk('settings.passkeyAdmins') },
  'passkeyPolicy.volunteers': { label: tk('settings.passkeyVolunteers') },
  retention: { label: tk('settings.retention'), hint: tk('settings.retentionHint') },
  'retention.callRecords': { label: tk('settings.keepCallRecords') },
  'retention.notes': { label: tk('settings.keepNotes') },
  'retention.transcripts': { label: tk('settings.keepTranscripts') },
  'retention.callRecords.forever': { label: tk('settings.keepForever') },
  'retention.notes.forever': { label: tk('settings.keepForever') },
  'retention.transcripts.forever': { label: tk('settings.keepForever') },
  'retention.callRecords.days': { label: tk('settings.keepDays'), min: 1, max: 36500, integer: true },
  'retention.notes.days': { label: tk('settings.keepDays'), min: 1, max: 36500, integer: true },
  'retention.transcripts.days': { label: tk('settings.keepDays'), min: 1, max: 36500, integer: true },
};

// humanize: 'queueTimeoutSeconds' → 'Queue timeout seconds' for unknown keys.
export function humanize(key) {
  const s = key.replace(/[_-]+/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function validTimeZone(tz) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function kindOf(value, hint) {
  if (hint.kind) return hint.kind;
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'string') return 'string';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return 'list';
  if (value && typeof value === 'object' && !Array.isArray(value)) return 'group';
  return 'opaque';
}

// describe turns a settings object into a tree of field descriptors.
export function describe(obj, hints = HINTS, prefix = '') {
  return Object.keys(obj).map((key) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const hint = hints[path] || {};
    const value = obj[key];
    const kind = kindOf(value, hint);
    const node = { path, key, kind, value, hint };
    if (kind === 'group') node.children = describe(value, hints, path);
    return node;
  });
}

// collect reads the form back. read(path) gives the raw control value:
// boolean for bool, string for number/string/enum/timezone, string[] for
// multi, a comma-separated string for list. Returns {value, errors} where
// errors maps path → {key, vars}.
export function collect(tree, read) {
  const errors = {};
  function walk(nodes) {
    const out = {};
    for (const n of nodes) {
      const h = n.hint;
      switch (n.kind) {
        case 'group':
          out[n.key] = walk(n.children);
          break;
        case 'bool':
          out[n.key] = !!read(n.path);
          break;
        case 'number': {
          const raw = String(read(n.path) ?? '').trim();
          const v = Number(raw);
          if (raw === '' || !Number.isFinite(v)) errors[n.path] = { key: tk('settings.errNumber') };
          else if (h.integer && !Number.isInteger(v)) errors[n.path] = { key: tk('settings.errInteger') };
          else if ((h.min !== undefined && v < h.min) || (h.max !== undefined && v > h.max))
            errors[n.path] = { key: tk('settings.errRange'), vars: { min: h.min ?? '−∞', max: h.max ?? '∞' } };
          out[n.key] = v;
          break;
        }
        case 'enum': {
          const v = String(read(n.path) ?? '');
          if (!h.options.includes(v)) errors[n.path] = { key: tk('settings.errChoice') };
          out[n.key] = v;
          break;
        }
        case 'multi': {
          const v = (read(n.path) || []).filter((x) => h.options.includes(x));
          if (h.required && v.length === 0) errors[n.path] = { key: tk('settings.errAtLeastOne') };
          out[n.key] = v;
          break;
        }
        case 'list': {
          const v = String(read(n.path) ?? '')
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean);
          out[n.key] = v;
          break;
        }
        case 'string':
        case 'timezone': {
          const v = String(read(n.path) ?? '').trim();
          if (h.required && v === '') errors[n.path] = { key: tk('settings.errRequired') };
          else if (h.maxLength && [...v].length > h.maxLength) errors[n.path] = { key: tk('settings.errTooLong'), vars: { max: h.maxLength } };
          else if (n.kind === 'timezone' && !validTimeZone(v)) errors[n.path] = { key: tk('settings.errTimeZone') };
          out[n.key] = v;
          break;
        }
        default:
          out[n.key] = n.value;
      }
    }
    return out;
  }
  const value = walk(tree);
  return { value, errors };
}
