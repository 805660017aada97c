// Names for public keys, decrypted in the browser. Admins can list everyone
// (each profile is sealed to them); a volunteer only knows their own name.
import { npub, openProfile } from '../keys.js';

export async function loadPeople(ctx) {
  const { t, api, session } = ctx;
  const list = [];
  if (session.role === 'admin') {
    const { volunteers } = await api.volunteers();
    for (const v of volunteers) {
      const p = openProfile(v.profile, v.pubkey, session.secretKey);
      list.push({ pubkey: v.pubkey, role: v.role, active: v.active, onShift: v.onShift, name: p ? p.name : null });
    }
  } else if (session.pubkey) {
    list.push({ pubkey: session.pubkey, role: session.role, active: true, name: session.profile ? session.profile.name : null });
  }
  const byKey = new Map(list.map((p) => [p.pubkey, p]));
  return {
    list,
    // nameOf: a name, or the start of the npub when the profile does not
    // open here (never the empty string: a row must say who).
    nameOf(pubkey) {
      if (!pubkey) return '';
      const p = byKey.get(pubkey);
      if (p && p.name) return pubkey === session.pubkey ? t('people.you', { name: p.name }) : p.name;
      return npub(pubkey).slice(0, 16) + '…';
    },
    plainName(pubkey) {
      const p = byKey.get(pubkey);
      return p && p.name ? p.name : npub(pubkey).slice(0, 16) + '…';
    },
  };
}
