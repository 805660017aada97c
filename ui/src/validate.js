// Form checks that need no DOM. Each returns null when fine, else an i18n key.

export const MIN_PASSPHRASE = 8;
export const MAX_NAME = 100;

export function checkPassphrase(pass, confirm) {
  if (typeof pass !== 'string' || [...pass].length < MIN_PASSPHRASE) return 'form.passphraseShort';
  if (pass !== confirm) return 'form.passphraseMismatch';
  return null;
}

export function checkName(name) {
  const n = typeof name === 'string' ? name.trim() : '';
  if (n === '') return 'form.nameRequired';
  if ([...n].length > MAX_NAME) return 'form.nameLong';
  return null;
}

// Phone is optional and only ever stored sealed; accept what people write
// (+34 600 00 00 00) but nothing that is clearly not a phone number.
export function checkPhone(phone) {
  const p = typeof phone === 'string' ? phone.trim() : '';
  if (p === '') return null;
  if (!/^\+?[0-9 ()./-]{4,30}$/.test(p) || p.replace(/\D/g, '').length < 4) return 'form.phoneInvalid';
  return null;
}

// normalizePhone keeps a leading + and the digits.
export function normalizePhone(phone) {
  const p = (phone || '').trim();
  if (p === '') return '';
  return (p.startsWith('+') ? '+' : '') + p.replace(/\D/g, '');
}
