// Package e2ee is the daemon's half of the appliance's end-to-end
// cryptography; the browser half lives in ui/src/crypto and the two are held
// byte-identical by the shared vectors in testdata/vectors.
//
// The daemon only ever needs public keys: it seals transcripts and caller
// numbers to the answering volunteer and the admins, checks that uploaded
// envelopes are addressed to the right people, and verifies BIP-340 login
// signatures. There is no secret-key type and no way to open an envelope
// here. The other side — secret keys, Open, signing, nsec/npub — is in
// e2ee/e2eetest, which only tests import; a test in cmd/llamenos fails if the
// daemon ever depends on it. e2ee/internal/core holds what both sides share.
//
// docs/crypto.md is the normative description of every byte layout here.
package e2ee
