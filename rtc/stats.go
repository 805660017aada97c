package rtc

import (
	"errors"
	"sync/atomic"
	"time"
)

// Flow counts one leg of one direction.
type Flow struct {
	Packets uint64
	// Bytes counts µ-law payload only, so Bytes/8000 is seconds of audio.
	Bytes uint64
	// Last is when the latest packet passed; zero if none has.
	Last time.Time
}

// Stats is a snapshot of a relay's counters.
type Stats struct {
	FromAsterisk Flow // valid caller audio received on the externalMedia socket
	ToBrowser    Flow // of which written to a connected PeerConnection
	FromBrowser  Flow // valid volunteer audio received from the browser
	ToAsterisk   Flow // of which sent to Asterisk

	// Refused input, counted and otherwise ignored.
	Malformed   uint64 // not RTP, truncated, bad padding, empty or oversized payload
	WrongType   uint64 // RTP with a payload type other than PCMU
	WrongSource uint64 // datagrams from anywhere but Asterisk's address

	// Audio the relay could not deliver.
	PacerDropped uint64 // browser packets with sound dropped by the playout buffer (full, or shrinking a backlog)
	PacerSkipped uint64 // quiet browser packets skipped to shrink a backlog (a shorter pause, no lost sound)
	NoRemote     uint64 // browser packets while Asterisk's address was unknown
	WriteErrors  uint64 // failed sends on either side
	ReadErrors   uint64 // socket read errors other than close
}

// Add adds o's counts to s: what two relays of one call carried. Last is
// the later of the two.
func (s *Stats) Add(o Stats) {
	for _, f := range []struct{ to, from *Flow }{
		{&s.FromAsterisk, &o.FromAsterisk}, {&s.ToBrowser, &o.ToBrowser},
		{&s.FromBrowser, &o.FromBrowser}, {&s.ToAsterisk, &o.ToAsterisk},
	} {
		f.to.Packets += f.from.Packets
		f.to.Bytes += f.from.Bytes
		if f.from.Last.After(f.to.Last) {
			f.to.Last = f.from.Last
		}
	}
	s.Malformed += o.Malformed
	s.WrongType += o.WrongType
	s.WrongSource += o.WrongSource
	s.PacerDropped += o.PacerDropped
	s.PacerSkipped += o.PacerSkipped
	s.NoRemote += o.NoRemote
	s.WriteErrors += o.WriteErrors
	s.ReadErrors += o.ReadErrors
}

type flowCounter struct {
	packets atomic.Uint64
	bytes   atomic.Uint64
	last    atomic.Int64 // unix nanoseconds
}

func (f *flowCounter) add(n int, now time.Time) {
	f.packets.Add(1)
	f.bytes.Add(uint64(n))
	f.last.Store(now.UnixNano())
}

func (f *flowCounter) snapshot() Flow {
	out := Flow{Packets: f.packets.Load(), Bytes: f.bytes.Load()}
	if ns := f.last.Load(); ns != 0 {
		out.Last = time.Unix(0, ns)
	}
	return out
}

type counters struct {
	fromAsterisk, toBrowser, fromBrowser, toAsterisk flowCounter

	malformed, wrongType, wrongSource                             atomic.Uint64
	pacerDropped, pacerSkipped, noRemote, writeErrors, readErrors atomic.Uint64
}

func (c *counters) countBad(err error) {
	if errors.Is(err, errRTPPayloadType) {
		c.wrongType.Add(1)
		return
	}
	c.malformed.Add(1)
}

// Stats returns the relay's counters. It is safe to call at any time,
// including after Close.
func (r *Relay) Stats() Stats {
	c := &r.stats
	return Stats{
		FromAsterisk: c.fromAsterisk.snapshot(),
		ToBrowser:    c.toBrowser.snapshot(),
		FromBrowser:  c.fromBrowser.snapshot(),
		ToAsterisk:   c.toAsterisk.snapshot(),
		Malformed:    c.malformed.Load(),
		WrongType:    c.wrongType.Load(),
		WrongSource:  c.wrongSource.Load(),
		PacerDropped: c.pacerDropped.Load(),
		PacerSkipped: c.pacerSkipped.Load(),
		NoRemote:     c.noRemote.Load(),
		WriteErrors:  c.writeErrors.Load(),
		ReadErrors:   c.readErrors.Load(),
	}
}
