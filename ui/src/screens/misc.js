import { h } from '../dom.js';
import { notice, passkeyPanel, title } from './parts.js';

// blank: where panic wipe lands. It names nothing: no hotline, no app.
export async function blankScreen() {
  return { title: '', node: h('div', {}, h('h1', { tabindex: '-1', class: 'visually-hidden' }, '—')) };
}

export async function notFoundScreen(ctx) {
  const { t } = ctx;
  return {
    title: t('notFound.title'),
    node: h('div', { class: 'stack' }, title(t('notFound.title')), h('p', {}, h('a', { href: '#/' }, t('notFound.home')))),
  };
}

// setupNeeded: the hotline has no admin yet and this is not the setup link.
export async function setupNeededScreen(ctx) {
  const { t } = ctx;
  return {
    title: t('setup.title'),
    node: h('div', { class: 'stack narrow' }, title(t('setup.title')), notice('', t('setup.needed'))),
  };
}

// enrolPasskey: the hotline requires a passkey and this session was opened
// without one. The server allows nothing else until one is added.
export async function enrolPasskeyScreen(ctx) {
  const { t } = ctx;
  const panel = passkeyPanel(ctx, { required: true, onDone: () => ctx.passkeyEnrolled() });
  return {
    title: t('passkey.title'),
    node: h('div', { class: 'stack narrow' }, title(t('passkey.title')), notice('warn', t('passkey.mustEnrol')), panel.el),
  };
}
