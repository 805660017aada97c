package aritest

import (
	"strings"
	"time"
	"unicode/utf8"

	"llamenos/ari"
)

// mediaDuration says how long one media URI plays; ok is false for a URI
// Asterisk could not play (the playback then fails). forever is true for
// tones, which play until stopped.
func (s *Server) mediaDuration(uri string) (d time.Duration, forever, ok bool) {
	scheme, rest, found := strings.Cut(uri, ":")
	if !found || rest == "" {
		return 0, false, false
	}
	switch scheme {
	case "sound":
		if d, ok := s.opts.SoundDurations[rest]; ok {
			return d, false, true
		}
		return s.opts.DefaultSoundDuration, false, true
	case "recording":
		return s.opts.DefaultSoundDuration, false, true
	case "digits", "number", "characters":
		return time.Duration(utf8.RuneCountInString(rest)) * s.opts.SymbolDuration, false, true
	case "tone":
		return 0, true, true
	}
	return 0, false, false
}

func (s *Server) playbackAppsLocked(p *playback) []string {
	if p.ch != nil {
		return s.channelAppsLocked(p.ch)
	}
	if p.br != nil {
		return s.bridgeAppsLocked(p.br)
	}
	return nil
}

func (s *Server) emitPlaybackLocked(p *playback, typ string) {
	snap := p.snapshot()
	s.emitLocked(s.playbackAppsLocked(p), func() ari.Event {
		b := base(typ)
		switch typ {
		case "PlaybackStarted":
			return &ari.PlaybackStarted{EventBase: b, Playback: snap}
		case "PlaybackContinuing":
			return &ari.PlaybackContinuing{EventBase: b, Playback: snap}
		default:
			return &ari.PlaybackFinished{EventBase: b, Playback: snap}
		}
	})
}

// enqueuePlaybackLocked queues p on its target and starts it if the target
// is idle. Like Asterisk's control queue, the start happens just after the
// HTTP answer.
func (s *Server) enqueuePlaybackLocked(p *playback) {
	s.playbacks[p.id] = p
	if p.ch != nil {
		p.ch.queue = append(p.ch.queue, p)
		if p.ch.moh {
			// A play on a channel in MOH suspends the music for good.
			p.ch.moh = false
		}
	} else {
		p.br.queue = append(p.br.queue, p)
	}
	s.afterLocked(0, func() { s.advanceTargetLocked(p.ch, p.br) })
}

// advanceTargetLocked starts the next queued playback of an idle target.
func (s *Server) advanceTargetLocked(ch *channel, br *bridge) {
	var cur **playback
	var q *[]*playback
	switch {
	case ch != nil:
		if s.channels[ch.id] != ch {
			return
		}
		cur, q = &ch.playing, &ch.queue
	case br != nil:
		if s.bridges[br.id] != br {
			return
		}
		cur, q = &br.playing, &br.queue
	default:
		return
	}
	if *cur != nil || len(*q) == 0 {
		return
	}
	p := (*q)[0]
	*q = (*q)[1:]
	*cur = p
	s.startMediaLocked(p, "PlaybackStarted")
}

// startMediaLocked plays p.media[p.idx] and schedules what follows it.
func (s *Server) startMediaLocked(p *playback, startType string) {
	p.state = ari.PlaybackStatePlaying
	if startType == "PlaybackContinuing" {
		p.state = ari.PlaybackStateContinuing
	}
	s.notePlayedLocked(p, p.media[p.idx])
	d, forever, ok := s.mediaDuration(p.media[p.idx])
	s.emitPlaybackLocked(p, startType)
	if !ok {
		s.finishPlaybackLocked(p, ari.PlaybackStateFailed)
		return
	}
	if forever {
		return
	}
	p.timer = s.afterLocked(d, func() {
		if s.playbacks[p.id] != p {
			return
		}
		if p.idx+1 < len(p.media) {
			p.idx++
			s.startMediaLocked(p, "PlaybackContinuing")
			return
		}
		s.finishPlaybackLocked(p, ari.PlaybackStateDone)
	})
}

func (s *Server) notePlayedLocked(p *playback, uri string) {
	if p.ch != nil && p.ch.call != nil {
		p.ch.call.played = append(p.ch.call.played, uri)
	}
	if p.br != nil {
		for _, m := range p.br.members {
			if m.call != nil {
				m.call.played = append(m.call.played, uri)
			}
		}
	}
}

// finishPlaybackLocked ends p (done, failed or stopped) and starts the next
// playback of its target.
func (s *Server) finishPlaybackLocked(p *playback, state string) {
	if s.playbacks[p.id] != p {
		return
	}
	delete(s.playbacks, p.id)
	if t, ok := p.timer.(*time.Timer); ok {
		s.cancelLocked(t)
	}
	p.state = state
	s.emitPlaybackLocked(p, "PlaybackFinished")
	switch {
	case p.ch != nil:
		if p.ch.playing == p {
			p.ch.playing = nil
		}
		p.ch.queue = removePlayback(p.ch.queue, p)
		s.afterLocked(0, func() { s.advanceTargetLocked(p.ch, nil) })
	case p.br != nil:
		if p.br.playing == p {
			p.br.playing = nil
		}
		p.br.queue = removePlayback(p.br.queue, p)
		s.afterLocked(0, func() { s.advanceTargetLocked(nil, p.br) })
	}
}

func removePlayback(q []*playback, p *playback) []*playback {
	out := q[:0]
	for _, x := range q {
		if x != p {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) stopChannelPlaybacksLocked(ch *channel) {
	for _, p := range append(append([]*playback(nil), ch.queue...), ch.playing) {
		if p != nil {
			s.finishPlaybackLocked(p, ari.PlaybackStateDone)
		}
	}
}

func (s *Server) stopBridgePlaybacksLocked(b *bridge) {
	for _, p := range append(append([]*playback(nil), b.queue...), b.playing) {
		if p != nil {
			s.finishPlaybackLocked(p, ari.PlaybackStateDone)
		}
	}
}
