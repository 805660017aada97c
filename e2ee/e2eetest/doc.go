// Package e2eetest is the secret-key side of e2ee, for tests only: secret
// keys, Open, BIP-340 and login signing, nsec/npub, and the deterministic
// stream the cross-language vectors are made with. With e2ee it is the
// complete Go twin of ui/src/crypto, so the Go tests can act as a browser and
// open what the daemon seals.
//
// The daemon must never be able to read a note: nothing outside _test.go
// files imports this package, and TestDaemonCannotOpen in cmd/llamenos fails
// if the daemon's dependencies ever include it.
package e2eetest
