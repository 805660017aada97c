// Package realasterisk holds the tests that run the appliance against a real
// Asterisk instead of the simulator: callers dial in over SIP (SIPp), the
// daemon answers them over ARI, and a stand-in browser takes the calls.
//
// The tests are behind the build tag asterisk, so `go test ./...` does not
// run them; `make test-asterisk` does. They need an Asterisk 22 binary
// ($LLAMENOS_ASTERISK, else asterisk on the PATH), its core sounds and
// music on hold (Debian's asterisk-core-sounds-en-wav and
// asterisk-moh-opsound-wav do), and sipp (Debian's sip-tester); without
// them every test skips and says what is missing.
//
// Each test renders the configuration with `llamenos asterisk-config`'s
// renderer into a temporary directory, with an asterisk.conf that keeps
// every file Asterisk writes there and loopback ports of its own, so it
// never touches or clashes with an Asterisk installed on the machine. The
// daemon runs in a process of its own (the test binary started again), so a
// test can kill it as systemd or the OOM killer would.
package realasterisk
