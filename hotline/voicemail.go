package hotline

import (
	"time"

	"llamenos/audio"
	"llamenos/pipeline"
	"llamenos/rtc"
	"llamenos/store"
)

// Voicemail: the caller hears Prompts.Voicemail and a beep in their
// language, then their channel is bridged with an externalMedia channel
// into the call's own relay, exactly as for a volunteer, and a tap copies
// what they say into memory (pipeline.Audio). Asterisk records nothing: no
// Record, no MixMonitor, nothing on its disk. `#`, hanging up, the maximum
// length (counted in audio, not wall time) or a long silence ends the
// message; the pipeline seals it to the admins and stores it before the
// caller is hung up.

// vmEndMsg: the capture reached the voicemail's length or heard a long
// silence.
type vmEndMsg struct{ why string }

// Voicemail tuning.
const (
	// vmTapFrames is the tap's buffer: 4 s of both directions.
	vmTapFrames = 400
	// silentPeak: a 20 ms frame whose loudest sample is below this (about
	// −30 dBFS) is silence.
	silentPeak = 1000
	// vmSafety is added to the maximum length for the wall-clock bound on
	// a voicemail whose audio stops arriving.
	vmSafety = 10 * time.Second
)

// startVoicemail takes the caller to voicemail: nobody is ringing any more.
func (c *call) startVoicemail() {
	c.phase = phVoicemail
	c.disarm(tQueue)
	c.disarm(tRefresh)
	c.stopRinging(RingStopTimeout)
	c.stopPlayback()
	c.stopMOH()
	if c.active.Load().(ActiveCall).State != "" {
		c.setActive("")
		c.e.d.Notify.CallsChanged()
	}
	c.log.Info("the caller goes to voicemail")
	c.arm(tPrompt, c.e.cfg.PromptLimit)
	c.playThen(append(sounds(c.e.cfg.Prompts.Voicemail), "sound:beep"), c.lang, c.recordVoicemail)
}

// recordVoicemail builds the capture path once the beep has played.
func (c *call) recordVoicemail() {
	c.disarm(tPrompt)
	if c.phase != phVoicemail || c.callerGone || c.vm != nil {
		return
	}
	r, err := c.e.d.RTC.NewRelay(c.id)
	if err != nil {
		c.log.Error("voicemail relay", "err", err)
		c.end(endSpec{outcome: store.OutcomeFailed, prompt: c.e.cfg.Prompts.Error})
		return
	}
	c.relay, c.relayState = r, 0
	maxLen := time.Duration(c.settings.VoicemailMaxSeconds) * time.Second
	c.vm = startCapture(captureSpec{
		tap:       r.Tap(vmTapFrames),
		newAudio:  c.e.pipe.NewAudio,
		caller:    true,
		limit:     durSamples(maxLen),
		silence:   durSamples(c.e.cfg.VoicemailSilence),
		mbox:      c.mbox,
		startedAt: time.Now(),
	})
	if err := c.setupBridge(); err != nil {
		c.log.Error("set up the voicemail's media", "err", err)
		c.finishVoicemail("media failed")
		return
	}
	c.arm(tVoicemail, maxLen+mediaStartTimeout+vmSafety)
}

// finishVoicemail ends the message: the media goes, the pipeline seals and
// stores what was said, then the caller is hung up.
func (c *call) finishVoicemail(why string) {
	if c.phase != phVoicemail {
		return
	}
	cp := c.vm
	c.vm = nil
	c.teardownMedia() // closes the relay and with it the tap
	outcome := store.OutcomeUnanswered
	if cp != nil {
		cp.wait()
		a := cp.take(rtc.FromCaller)
		cp.discard()
		switch {
		case a == nil:
			c.log.Error("the voicemail's audio was lost: it could not be spilled to disk")
			outcome = store.OutcomeFailed
		case a.Len() == 0:
			a.Close()
			c.log.Info("the caller left no message", "why", why)
		default:
			length := time.Duration(a.Len()) * time.Second / audio.SampleRate
			err := c.e.pipe.Voicemail(c.ctx(), pipeline.VoicemailJob{CallID: c.id, Language: c.lang, Audio: a})
			if err != nil {
				c.log.Error("store the voicemail", "err", err)
				outcome = store.OutcomeFailed
			} else {
				outcome = store.OutcomeVoicemail
				c.log.Info("voicemail stored", "why", why, "length", length.Round(10*time.Millisecond), "dropped_frames", cp.tap.Dropped())
			}
		}
	}
	c.end(endSpec{outcome: outcome})
}

func durSamples(d time.Duration) int64 { return int64(d.Seconds() * audio.SampleRate) }

// transcriptTapFrames is the tap's buffer for a transcribed call: 4 s of
// both directions.
const transcriptTapFrames = 400

// finishTranscript hands a transcribed call's audio to the pipeline once
// its media is torn down. The pipeline transcribes each side separately,
// merges them and seals the result to the answering volunteer and the
// admins; the audio is wiped when the job ends.
func (c *call) finishTranscript() {
	cp := c.tr
	if cp == nil {
		return
	}
	c.tr = nil
	cp.wait()
	caller, vol := cp.take(rtc.FromCaller), cp.take(rtc.FromVolunteer)
	if caller == nil || vol == nil {
		c.log.Error("the call's audio could not be spilled to disk; it is not transcribed")
		for _, a := range []*pipeline.Audio{caller, vol} {
			if a != nil {
				a.Close()
			}
		}
		c.e.pipe.TranscriptFailed(c.ctx(), c.id)
		return
	}
	c.log.Info("the call goes to transcription", "caller_s", caller.Len()/audio.SampleRate, "volunteer_s", vol.Len()/audio.SampleRate, "dropped_frames", cp.tap.Dropped())
	c.e.pipe.CallTranscript(pipeline.CallJob{CallID: c.id, Language: c.lang, Volunteer: c.answerer, Caller: caller, VolAudio: vol})
}
