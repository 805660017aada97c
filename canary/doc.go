// Package canary holds the memory canary: a test that places calls from a
// number the test process never holds in plain form, ends them, and then
// reads the whole of its own memory (every readable mapping in
// /proc/self/maps, through /proc/self/mem) for any copy of that number. The
// daemon's side of the calls — the ARI client, the call engine, the store,
// the media engine — runs in the test process; the Asterisk simulator runs
// in a child process, since it holds the number itself.
//
// The package has no code of its own: everything is in its tests.
// docs/threat-model.md says what the canary covers and what it cannot.
package canary
