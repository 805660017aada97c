// Package e2ee is the Go half of the appliance's end-to-end cryptography; the
// browser half lives in ui/src/crypto and the two are held byte-identical by
// the shared vectors in testdata/vectors.
//
// The daemon only ever needs public keys: it seals transcripts and caller
// numbers to the answering volunteer and the admins, checks that uploaded
// envelopes are addressed to the right people, and verifies BIP-340 login
// signatures. Open and the signing helpers exist so tests (and tools acting as
// a browser) can exercise the full round trip.
//
// docs/crypto.md is the normative description of every byte layout here.
package e2ee
