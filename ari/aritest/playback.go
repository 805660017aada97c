package aritest

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"llamenos/ari"
	"llamenos/audio"
)

// PromptPlay is one sound file of Options.Sounds played to a caller: on
// their channel, or on a bridge they were in.
type PromptPlay struct {
	Media   string  // the media URI, "sound:NAME"
	Lang    string  // the playback's language
	File    string  // the file played, relative to Options.Sounds
	Samples []int16 // the file's audio, 8 kHz
	// Started and Finished are the wall-clock times the file began and
	// stopped playing; Finished is zero while it plays.
	Started, Finished time.Time
	// Complete: the file played to its end (not stopped, not hung up on).
	Complete bool
}

// soundFile finds a "sound:" name in Options.Sounds the way Asterisk looks
// in its sounds directory: <lang>/NAME, then NAME, then en/NAME. Only
// 8 kHz µ-law files (.ulaw) are read.
func (s *Server) soundFile(name, lang string) (file string, samples []int16, ok bool) {
	if s.opts.Sounds == nil || !fs.ValidPath(name) {
		return "", nil, false
	}
	for _, dir := range slices.Compact([]string{lang, "", "en"}) {
		f := path.Join(dir, name) + ".ulaw"
		b, err := fs.ReadFile(s.opts.Sounds, f)
		if err == nil {
			return f, audio.DecodeMulaw(nil, b), true
		}
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("read sound file", "file", f, "err", err)
		}
	}
	return "", nil, false
}

// mediaDuration says how long one media URI plays; ok is false for a URI
// Asterisk could not play (the playback then fails). forever is true for
// tones, which play until stopped. file is the Options.Sounds file a
// "sound:" URI plays, if any.
func (s *Server) mediaDuration(uri, lang string) (d time.Duration, forever, ok bool, file *PromptPlay) {
	scheme, rest, found := strings.Cut(uri, ":")
	if !found || rest == "" {
		return 0, false, false, nil
	}
	switch scheme {
	case "sound":
		if d, ok := s.opts.SoundDurations[rest]; ok {
			return d, false, true, nil
		}
		if f, samples, ok := s.soundFile(rest, lang); ok {
			d := time.Duration(len(samples)) * time.Second / audio.SampleRate
			return d, false, true, &PromptPlay{Media: uri, Lang: lang, File: f, Samples: samples}
		}
		return s.opts.DefaultSoundDuration, false, true, nil
	case "recording":
		return s.opts.DefaultSoundDuration, false, true, nil
	case "digits", "number", "characters":
		return time.Duration(utf8.RuneCountInString(rest)) * s.opts.SymbolDuration, false, true, nil
	case "tone":
		return 0, true, true, nil
	}
	return 0, false, false, nil
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
	d, forever, ok, file := s.mediaDuration(p.media[p.idx], p.lang)
	p.file = nil
	if file != nil {
		s.notePromptLocked(p, file)
	}
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
		for _, f := range p.file {
			f.Finished, f.Complete = time.Now(), true
		}
		p.file = nil
		if p.idx+1 < len(p.media) {
			p.idx++
			s.startMediaLocked(p, "PlaybackContinuing")
			return
		}
		s.finishPlaybackLocked(p, ari.PlaybackStateDone)
	})
}

// notePromptLocked gives each caller who hears p its own record of the
// file starting now.
func (s *Server) notePromptLocked(p *playback, file *PromptPlay) {
	file.Started = time.Now()
	note := func(c *Call) {
		f := *file
		c.prompts = append(c.prompts, &f)
		p.file = append(p.file, &f)
	}
	if p.ch != nil && p.ch.call != nil {
		note(p.ch.call)
	}
	if p.br != nil {
		for _, m := range p.br.members {
			if m.call != nil {
				note(m.call)
			}
		}
	}
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
	for _, f := range p.file {
		f.Finished = time.Now() // stopped before its end
	}
	p.file = nil
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
