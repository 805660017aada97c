package hotline

import (
	"time"

	"llamenos/audio"
	"llamenos/mailbox"
	"llamenos/pipeline"
	"llamenos/rtc"
)

// mulawSilence is µ-law's zero sample.
const mulawSilence = 0xFF

// maxGapSamples bounds the silence one gap in a direction's timestamps
// becomes: a minute (a volunteer's browser reconnecting takes less).
const maxGapSamples = 60 * 8000

// captureSpec says what a capture keeps.
type captureSpec struct {
	tap      *rtc.Tap
	newAudio func() *pipeline.Audio
	// caller, volunteer: the directions kept.
	caller, volunteer bool
	// align: each direction starts with the silence between startedAt and
	// its first packet, so the two sides share one time line.
	align     bool
	startedAt time.Time
	// limit stops the capture after this many samples of the caller (0:
	// none); silence ends it after this many samples of the caller's
	// silence (0: never). Either posts vmEndMsg to mbox once.
	limit, silence int64
	mbox           *mailbox.Box[any]
}

// capture copies a tap's audio into pipeline.Audio on its own goroutine.
// Gaps in a direction's RTP timestamps (lost packets) become silence, so
// the audio keeps the call's timing; late or repeated packets are dropped.
type capture struct {
	spec  captureSpec
	tap   *rtc.Tap
	done  chan struct{}
	sides map[rtc.Direction]*captureSide
	ended bool // a vmEndMsg was posted (the goroutine's own)
}

type captureSide struct {
	a       *pipeline.Audio
	started bool
	base    uint32 // RTP timestamp of sample 0
	lead    int64  // samples of silence before base (align)
	written int64
	voiceAt int64 // end of the last voiced frame
	err     error
}

func startCapture(spec captureSpec) *capture {
	cp := &capture{spec: spec, tap: spec.tap, done: make(chan struct{}), sides: map[rtc.Direction]*captureSide{}}
	if spec.caller {
		cp.sides[rtc.FromCaller] = &captureSide{a: spec.newAudio()}
	}
	if spec.volunteer {
		cp.sides[rtc.FromVolunteer] = &captureSide{a: spec.newAudio()}
	}
	go cp.run()
	return cp
}

func (cp *capture) run() {
	defer close(cp.done)
	silence := make([]byte, audio.SampleRate/10)
	for i := range silence {
		silence[i] = mulawSilence
	}
	pcm := make([]int16, 0, 512)
	for f := range cp.tap.Frames() {
		s := cp.sides[f.Direction]
		if s == nil || s.err != nil || cp.ended {
			continue
		}
		payload := f.Payload()
		if !s.started {
			s.started, s.base = true, f.Timestamp
			if cp.spec.align {
				s.lead = max(durSamples(f.Arrival.Sub(cp.spec.startedAt)), 0)
			}
		}
		at := s.lead + int64(int32(f.Timestamp-s.base))
		if at < s.written {
			continue // late or repeated
		}
		if cp.spec.limit > 0 && f.Direction == rtc.FromCaller {
			// Up to the limit and no further: a gap past it is silence
			// up to it.
			at = min(at, cp.spec.limit)
			if at+int64(len(payload)) > cp.spec.limit {
				payload = payload[:cp.spec.limit-at]
			}
		}
		if gap := at - s.written; gap > maxGapSamples {
			// Longer than any real loss: the audio resumes after a
			// bounded pause rather than filling memory with silence.
			s.lead -= gap - maxGapSamples
			at = s.written + maxGapSamples
		}
		for gap := at - s.written; gap > 0; {
			n := min(gap, int64(len(silence)))
			if s.err = s.a.Append(silence[:n]); s.err != nil {
				break
			}
			gap -= n
			s.written += n
		}
		if s.err != nil {
			continue
		}
		if s.err = s.a.Append(payload); s.err != nil {
			continue
		}
		s.written += int64(len(payload))
		if f.Direction != rtc.FromCaller {
			continue
		}
		pcm = audio.DecodeMulaw(pcm[:0], payload)
		if loud(pcm) {
			s.voiceAt = s.written
		}
		switch {
		case cp.spec.limit > 0 && s.written >= cp.spec.limit:
			cp.ended = true
			cp.spec.mbox.Push(vmEndMsg{why: "maximum length"})
		case cp.spec.silence > 0 && s.written-s.voiceAt >= cp.spec.silence:
			cp.ended = true
			cp.spec.mbox.Push(vmEndMsg{why: "silence"})
		}
	}
}

func loud(pcm []int16) bool {
	for _, v := range pcm {
		if v >= silentPeak || v <= -silentPeak {
			return true
		}
	}
	return false
}

// wait closes the tap and waits for the goroutine to finish.
func (cp *capture) wait() {
	cp.tap.Close()
	<-cp.done
}

// take hands one direction's audio over (after wait). A direction whose
// spill failed gives empty audio: the job fails, not the call.
func (cp *capture) take(d rtc.Direction) *pipeline.Audio {
	s := cp.sides[d]
	delete(cp.sides, d)
	if s.err != nil {
		s.a.Close()
		return nil
	}
	return s.a
}

// discard wipes whatever was not taken.
func (cp *capture) discard() {
	for d, s := range cp.sides {
		s.a.Close()
		delete(cp.sides, d)
	}
}
