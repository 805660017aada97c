// First-admin setup (#/setup/<token>) and joining from an invite
// (#/invite/<code>) share one flow: make a key here, protect it with a
// passphrase, seal the profile, prove possession of the key to the server,
// then offer the recovery backup (and, for invites, a passkey).
import { append, h, button, busy } from '../dom.js';
import { buildKeyStore, hasKeyStore, newIdentity, sealProfile, signAuth, writeKeyStore } from '../keys.js';
import { errorText, messageArea, notice, passkeyPanel, passphraseFields, profileFields, backupPanel, title } from './parts.js';
import { sealingAdmins } from '../adminset.js';

// explainError lets each flow name its own refusals (a used setup token, a
// used invite) instead of the generic sentence for the status code.
function onboardForm(ctx, { purpose, submitLabel, recipients, submit, onSignedIn, explainError = () => null }) {
  const { t, api } = ctx;
  const msg = messageArea();
  const profile = profileFields(t);
  const pass = passphraseFields(t);
  const form = h('form', { class: 'card narrow', novalidate: true });
  let replace = null;
  if (hasKeyStore(localStorage)) {
    replace = h('input', { type: 'checkbox', id: 'replace-key' });
    form.append(
      notice('warn', t('onboard.existingKey')),
      h('div', { class: 'check' }, replace, h('label', { for: 'replace-key' }, t('onboard.replaceKey'))),
    );
  }
  form.append(
    h('fieldset', {}, h('legend', {}, t('onboard.aboutYou')), h('p', { class: 'hint' }, t('onboard.profilePrivate')), ...profile.nodes),
    h('fieldset', {}, h('legend', {}, t('onboard.protectKey')), h('p', { class: 'hint' }, t('onboard.passphraseExplain')), ...pass.nodes),
    msg.el,
    button(submitLabel, null, { type: 'submit' }),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    // Every field is checked at once, so all the problems show together;
    // focus goes to the first one.
    const p = profile.read();
    const passphrase = pass.read();
    const mustConfirm = replace && !replace.checked;
    if (mustConfirm) msg.show('error', t('onboard.confirmReplace'));
    if (!p || passphrase === null || mustConfirm) {
      (form.querySelector('[aria-invalid="true"]') || replace).focus();
      return;
    }
    let id = null;
    await busy(form, async () => {
      try {
        msg.show('', t('onboard.working'));
        id = newIdentity();
        const envelope = sealProfile(p, id.pubkey, recipients());
        const store = await buildKeyStore(id.secretKey, passphrase);
        const { challenge } = await api.challenge(purpose);
        const { signature } = signAuth(purpose, location.origin, challenge, id.secretKey);
        const res = await submit({ pubkey: id.pubkey, challenge, signature, profile: envelope });
        // Only now, with the server's yes, replace any key this browser held.
        writeKeyStore(localStorage, store);
        pass.clear();
        // No navigation until the recovery backup step is done.
        ctx.setOnboarding(true);
        await ctx.signIn(id.secretKey, id.pubkey, res);
        onSignedIn();
      } catch (err) {
        ctx.setOnboarding(false);
        if (id) id.secretKey.fill(0);
        const key = explainError(err);
        msg.show('error', key ? t(key) : errorText(t, err));
      }
    });
  });
  return form;
}

function finish(ctx) {
  // replace: the token or code must not stay in the tab's history.
  location.replace('#/');
}

export async function setupScreen(ctx, { token }) {
  const { t, config } = ctx;
  if (!config.setupRequired) {
    return {
      title: t('setup.title'),
      node: h('div', {}, title(t('setup.title')), notice('', t('setup.done')), h('p', {}, h('a', { href: '#/login' }, t('nav.login')))),
    };
  }
  const root = h('div', { class: 'stack' });
  const steps = h('div');
  const form = onboardForm(ctx, {
    purpose: 'setup',
    submitLabel: t('setup.submit'),
    recipients: () => [],
    submit: (body) => ctx.api.setup({ token, ...body }),
    explainError: (err) => (err.code === 'unauthorized' || err.code === 'gone' ? 'setup.badToken' : null),
    onSignedIn: () => {
      config.setupRequired = false;
      steps.replaceChildren(backupPanel(ctx, ctx.session.secretKey, { onDone: () => finish(ctx) }).el);
      steps.querySelector('h2')?.setAttribute('tabindex', '-1');
      steps.querySelector('h2')?.focus();
    },
  });
  steps.append(form);
  root.append(title(t('setup.title')), h('p', {}, t('setup.intro')), steps);
  return { title: t('setup.title'), node: root, cleanup: () => ctx.setOnboarding(false) };
}

export async function inviteScreen(ctx, { code }) {
  const { t, api, config } = ctx;
  const root = h('div', { class: 'stack' }, title(t('invite.title')));
  let invite;
  try {
    invite = await api.invite(code);
  } catch (err) {
    const key = err.code === 'gone' ? 'invite.gone' : err.code === 'not_found' ? 'invite.unknown' : null;
    root.append(notice('error', key ? t(key) : errorText(t, err)));
    return { title: t('invite.title'), node: root };
  }
  const role = invite.role === 'admin' ? 'admin' : 'volunteer';
  const passkeyRequired = !!(config.passkeyPolicy && config.passkeyPolicy[role === 'admin' ? 'admins' : 'volunteers']);
  const steps = h('div');
  const focusStep = () => {
    const h2 = steps.querySelector('h2');
    if (h2) {
      h2.setAttribute('tabindex', '-1');
      h2.focus();
    }
  };
  const passkeyStep = () => {
    // A passkey just added lifts the server's enrol-first restriction: the
    // app reloads who we are before going home.
    steps.replaceChildren(passkeyPanel(ctx, { required: passkeyRequired, onDone: (added) => (added ? ctx.passkeyEnrolled() : finish(ctx)) }).el);
    focusStep();
  };
  const form = onboardForm(ctx, {
    purpose: 'invite',
    submitLabel: t('invite.submit'),
    recipients: () => sealingAdmins(invite),
    submit: (body) => api.acceptInvite(code, body),
    explainError: (err) => (err.code === 'gone' ? 'invite.gone' : err.code === 'not_found' ? 'invite.unknown' : null),
    onSignedIn: () => {
      steps.replaceChildren(backupPanel(ctx, ctx.session.secretKey, { onDone: passkeyStep }).el);
      focusStep();
    },
  });
  steps.append(form);
  append(root, [
    h('p', {}, t(role === 'admin' ? 'invite.introAdmin' : 'invite.introVolunteer', { hotline: config.hotlineName || '' })),
    invite.expiresAt ? h('p', { class: 'muted' }, t('invite.expires', { when: ctx.formatTime(invite.expiresAt) })) : null,
    steps,
  ]);
  return { title: t('invite.title'), node: root, cleanup: () => ctx.setOnboarding(false) };
}
