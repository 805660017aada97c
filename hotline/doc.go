// Package hotline is the call engine: it receives calls from Asterisk over
// ARI, checks bans and rate limits, holds the caller, rings the volunteers
// who are on shift and available, lets the first answer win, bridges the
// caller to that volunteer's browser through the media relay, and writes the
// call record. One goroutine owns each call's state.
package hotline
