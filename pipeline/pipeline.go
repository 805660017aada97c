// Package pipeline is what becomes of a call's audio after the call: a
// voicemail is sealed to the admins at once and, where this box has a
// transcriber, transcribed; a transcribed call's two sides are transcribed
// separately, merged by time with speaker labels and sealed to the
// answering volunteer and the admins. Plaintext audio lives only in this
// process's memory (Audio), or past a memory bound in a temporary file
// sealed with a key held only in memory; it is wiped when its job ends.
// Nothing here can open what it sealed: it holds public keys only.
package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"llamenos/e2ee"
	"llamenos/store"
	"llamenos/transcribe"
)

// DefaultMemoryLimit bounds the audio all jobs hold in memory together
// before new audio spills to disk: about 35 minutes of µ-law.
const DefaultMemoryLimit = 16 << 20

// Speakers, as the transcript labels them.
const (
	SpeakerCaller    = "caller"
	SpeakerVolunteer = "volunteer"
)

// Runner runs the jobs. Set the fields, then call Run once; Voicemail,
// CallTranscript and NewAudio may be called from any goroutine before,
// during and after Run.
type Runner struct {
	Store *store.Store
	// Transcriber makes transcripts; nil: this box has none, voicemails
	// keep their sealed audio only and calls are not transcribed.
	Transcriber transcribe.Transcriber
	// Rand is the envelopes' randomness; default crypto/rand.
	Rand io.Reader
	Log  *slog.Logger
	// MemoryLimit: DefaultMemoryLimit when zero.
	MemoryLimit int64
	// SpillDir holds the spill files. It must belong to this daemon alone
	// (the data directory's spill folder): Run deletes every spill file it
	// finds there. Empty: a fresh temporary directory, removed by Run on
	// its way out.
	SpillDir string
	// JobTimeout bounds one transcription attempt; default 10 min.
	JobTimeout time.Duration

	initOnce sync.Once
	mem      memory
	dir      string

	mu      sync.Mutex
	queue   []*job
	wake    chan struct{}
	running bool
	stopped bool
}

type job struct {
	callID string
	lang   string
	// voicemail, or the answering volunteer's key for a call transcript
	voicemail bool
	volunteer string
	caller    *Audio
	vol       *Audio
}

func (j *job) close() {
	j.caller.Close()
	if j.vol != nil {
		j.vol.Close()
	}
}

func (r *Runner) init() {
	r.initOnce.Do(func() {
		if r.Rand == nil {
			r.Rand = rand.Reader
		}
		if r.Log == nil {
			r.Log = slog.Default()
		}
		r.Log = r.Log.With("component", "pipeline")
		r.mem.limit = r.MemoryLimit
		if r.mem.limit <= 0 {
			r.mem.limit = DefaultMemoryLimit
		}
		if r.JobTimeout <= 0 {
			r.JobTimeout = 10 * time.Minute
		}
		r.wake = make(chan struct{}, 1)
		r.dir = r.SpillDir
	})
}

// Transcribes reports whether this box makes transcripts.
func (r *Runner) Transcribes() bool { return r.Transcriber != nil }

// NewAudio returns an empty Audio accounted to this runner's memory bound.
func (r *Runner) NewAudio() *Audio {
	r.init()
	r.mu.Lock()
	dir := r.dir
	r.mu.Unlock()
	return &Audio{mem: &r.mem, dir: dir}
}

// Run deletes leftover spill files, marks voicemails a previous run left
// waiting for their transcript as failed, and runs the transcription jobs
// one at a time until ctx ends. Jobs still queued then are dropped, their
// audio wiped.
func (r *Runner) Run(ctx context.Context) error {
	r.init()
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("pipeline: Run called twice")
	}
	r.running = true
	r.mu.Unlock()
	if err := r.prepareDir(); err != nil {
		return err
	}
	defer r.stop()
	if err := r.failStale(ctx); err != nil {
		r.Log.Error("mark unfinished voicemail transcripts failed", "err", err)
	}
	for {
		j := r.next()
		if j == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-r.wake:
				continue
			}
		}
		r.run(ctx, j)
		j.close()
	}
}

func (r *Runner) prepareDir() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dir == "" {
		d, err := os.MkdirTemp("", "llamenos-pipeline-")
		if err != nil {
			return fmt.Errorf("pipeline: spill directory: %w", err)
		}
		r.dir = d
		return nil
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return fmt.Errorf("pipeline: spill directory: %w", err)
	}
	n, err := removeLeftovers(r.dir)
	if n > 0 {
		r.Log.Warn("deleted spill files a previous run left", "files", n)
	}
	return err
}

func (r *Runner) stop() {
	r.mu.Lock()
	r.stopped = true
	q := r.queue
	r.queue = nil
	dir, own := r.dir, r.SpillDir == ""
	r.mu.Unlock()
	for _, j := range q {
		j.close()
	}
	if own {
		_ = os.RemoveAll(dir)
	}
}

func (r *Runner) next() *job {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		return nil
	}
	j := r.queue[0]
	r.queue = slices.Delete(r.queue, 0, 1)
	return j
}

func (r *Runner) enqueue(j *job) bool {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		j.close()
		return false
	}
	r.queue = append(r.queue, j)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return true
}

// Pending counts the queued jobs (not the one running).
func (r *Runner) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue)
}

// VoicemailJob is a message a caller left.
type VoicemailJob struct {
	CallID   string
	Language string
	// Audio is the caller's µ-law; the runner owns it from here and wipes
	// it when done.
	Audio *Audio
}

// Voicemail seals the message's audio to every active admin and stores the
// voicemail at once; where this box transcribes, its transcript follows
// from a job. An empty message is dropped. It returns once the voicemail is
// stored, which is what the caller's call waits for.
func (r *Runner) Voicemail(ctx context.Context, v VoicemailJob) error {
	r.init()
	j := &job{callID: v.CallID, lang: v.Language, voicemail: true, caller: v.Audio}
	pcm, err := v.Audio.Bytes()
	if err != nil {
		j.close()
		return err
	}
	defer clear(pcm)
	length := time.Duration(len(pcm)) * time.Second / 8000
	status := store.TranscriptionNone
	if r.Transcribes() {
		status = store.TranscriptionPending
	}
	err = r.Store.Update(ctx, func(tx *store.Tx) error {
		admins, err := tx.SealingAdminKeys()
		if err != nil {
			return err
		}
		if len(admins) == 0 {
			return errors.New("pipeline: no admin to seal the voicemail to")
		}
		env, err := e2ee.Seal(r.Rand, pcm, e2ee.Context{Purpose: e2ee.PurposeVoicemailAudio, CallID: v.CallID, ItemID: "audio"}, admins)
		if err != nil {
			return fmt.Errorf("pipeline: seal the voicemail: %w", err)
		}
		if _, err := tx.PutVoicemail(store.Voicemail{CallID: v.CallID, Audio: env, Length: length, Language: v.Language, Transcription: status}); err != nil {
			return err
		}
		return tx.Audit(store.ActorSystem, "voicemail.received", "call:"+v.CallID)
	})
	if err != nil {
		j.close()
		return fmt.Errorf("pipeline: store the voicemail: %w", err)
	}
	if status == store.TranscriptionPending {
		if !r.enqueue(j) {
			r.setVoicemailFailed(ctx, v.CallID)
		}
		return nil
	}
	j.close()
	return nil
}

// CallJob is an answered call whose two sides are to be transcribed.
type CallJob struct {
	CallID    string
	Language  string
	Volunteer string // the answering volunteer's public key
	Caller    *Audio // what the caller said
	VolAudio  *Audio // what the volunteer said
}

// CallTranscript queues the transcription of a call; the runner owns the
// audio from here. Without a transcriber the audio is wiped at once.
func (r *Runner) CallTranscript(c CallJob) {
	r.init()
	j := &job{callID: c.CallID, lang: c.Language, volunteer: c.Volunteer, caller: c.Caller, vol: c.VolAudio}
	if !r.Transcribes() {
		j.close()
		return
	}
	r.enqueue(j)
}

// TranscriptFailed records that a call's transcript could not be made.
func (r *Runner) TranscriptFailed(ctx context.Context, callID string) {
	r.init()
	r.putCallTranscript(ctx, r.Log.With("call", callID), &job{callID: callID}, nil)
}

// run does one job: each speaker transcribed, a failed attempt retried
// once, the result sealed and stored; or the failure recorded.
func (r *Runner) run(ctx context.Context, j *job) {
	log := r.Log.With("call", j.callID)
	var segs []Segment
	var err error
	for attempt := 1; attempt <= 2; attempt++ {
		// One more attempt, unless the transcriber made its own or says
		// none can help (the worker retries a crashed or hung process).
		if segs, err = r.transcribe(ctx, j); err == nil || ctx.Err() != nil || errors.Is(err, transcribe.ErrFinal) {
			break
		}
		log.Warn("transcription failed", "attempt", attempt, "err", err)
	}
	if err != nil {
		log.Error("giving up on a transcript", "err", err)
		if j.voicemail {
			r.setVoicemailFailed(ctx, j.callID)
		} else {
			r.putCallTranscript(ctx, log, j, nil)
		}
		return
	}
	if j.voicemail {
		r.putVoicemailTranscript(ctx, log, j, segs)
	} else {
		r.putCallTranscript(ctx, log, j, segs)
	}
}

// Segment is one stretch of a transcript as sealed: times in milliseconds
// from the start of the call's (or the message's) audio.
type Segment struct {
	Speaker string `json:"speaker"`
	StartMs int64  `json:"start"`
	EndMs   int64  `json:"end"`
	Text    string `json:"text"`
}

// Document is a transcript's plaintext, the JSON sealed in its envelope.
type Document struct {
	Language string    `json:"language,omitempty"`
	Segments []Segment `json:"segments"`
}

func (r *Runner) transcribe(ctx context.Context, j *job) ([]Segment, error) {
	sides := []struct {
		speaker string
		a       *Audio
	}{{SpeakerCaller, j.caller}}
	if j.vol != nil {
		sides = append(sides, struct {
			speaker string
			a       *Audio
		}{SpeakerVolunteer, j.vol})
	}
	var out []Segment
	for _, s := range sides {
		pcm, err := s.a.Bytes()
		if err != nil {
			return nil, err
		}
		jctx, cancel := context.WithTimeout(ctx, r.JobTimeout)
		segs, err := r.Transcriber.Transcribe(jctx, transcribe.Request{Audio: pcm, Language: j.lang})
		cancel()
		clear(pcm)
		if err != nil {
			return nil, fmt.Errorf("pipeline: transcribe the %s: %w", s.speaker, err)
		}
		for _, g := range segs {
			out = append(out, Segment{Speaker: s.speaker, StartMs: g.Start.Milliseconds(), EndMs: g.End.Milliseconds(), Text: g.Text})
		}
	}
	return Merge(out), nil
}

// Merge orders segments by start time; at equal starts the caller's come
// first. The speakers' own orders are kept.
func Merge(segs []Segment) []Segment {
	slices.SortStableFunc(segs, func(a, b Segment) int {
		switch {
		case a.StartMs != b.StartMs:
			return int(a.StartMs - b.StartMs)
		case a.Speaker == b.Speaker:
			return 0
		case a.Speaker == SpeakerCaller:
			return -1
		default:
			return 1
		}
	})
	return segs
}

func (r *Runner) putVoicemailTranscript(ctx context.Context, log *slog.Logger, j *job, segs []Segment) {
	pt, err := json.Marshal(Document{Language: j.lang, Segments: nonNil(segs)})
	if err != nil {
		log.Error("encode a transcript", "err", err)
		r.setVoicemailFailed(ctx, j.callID)
		return
	}
	defer clear(pt)
	err = r.Store.Update(ctx, func(tx *store.Tx) error {
		st, err := tx.Settings()
		if err != nil {
			return err
		}
		admins, err := tx.SealingAdminKeys()
		if err != nil {
			return err
		}
		env, err := e2ee.Seal(r.Rand, pt, e2ee.Context{Purpose: e2ee.PurposeVoicemailTranscript, CallID: j.callID, ItemID: "voicemail"}, admins)
		if err != nil {
			return fmt.Errorf("pipeline: seal the transcript: %w", err)
		}
		_, err = tx.UpdateVoicemail(j.callID, func(v *store.Voicemail) error {
			v.Envelope, v.Transcription = env, store.TranscriptionDone
			if st.VoicemailTranscriptOnly {
				v.Audio = nil
			}
			return nil
		})
		return err
	})
	if err != nil {
		log.Error("store a voicemail transcript", "err", err)
		r.setVoicemailFailed(ctx, j.callID)
		return
	}
	log.Info("voicemail transcribed", "segments", len(segs))
}

func (r *Runner) setVoicemailFailed(ctx context.Context, callID string) {
	err := r.Store.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.UpdateVoicemail(callID, func(v *store.Voicemail) error {
			v.Transcription = store.TranscriptionFailed
			return nil
		})
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		r.Log.Error("record a failed voicemail transcript", "call", callID, "err", err)
	}
}

// putCallTranscript seals a call's transcript to the answering volunteer
// and every active admin; nil segs records that the transcription failed.
func (r *Runner) putCallTranscript(ctx context.Context, log *slog.Logger, j *job, segs []Segment) {
	var pt []byte
	if segs != nil {
		var err error
		if pt, err = json.Marshal(Document{Language: j.lang, Segments: segs}); err != nil {
			log.Error("encode a transcript", "err", err)
			segs = nil
		}
	}
	defer clear(pt)
	id, err := uuid.NewRandomFromReader(r.Rand)
	if err != nil {
		log.Error("transcript id", "err", err)
		return
	}
	err = r.Store.Update(ctx, func(tx *store.Tx) error {
		t := store.Transcript{ID: id.String(), CallID: j.callID, Failed: segs == nil}
		if segs != nil {
			admins, err := tx.SealingAdminKeys()
			if err != nil {
				return err
			}
			to := admins
			if vk, err := e2ee.ParsePublicKeyHex(j.volunteer); err == nil && !slices.Contains(to, vk) {
				to = append(slices.Clone(admins), vk)
			}
			if t.Envelope, err = e2ee.Seal(r.Rand, pt, e2ee.Context{Purpose: e2ee.PurposeTranscript, CallID: j.callID, ItemID: "transcript"}, to); err != nil {
				return fmt.Errorf("pipeline: seal the transcript: %w", err)
			}
		}
		_, err := tx.PutTranscript(t)
		return err
	})
	if err != nil {
		log.Error("store a call transcript", "err", err)
		return
	}
	log.Info("call transcribed", "segments", len(segs), "failed", segs == nil)
}

// failStale marks voicemails still waiting for a transcript as failed: the
// run that would have made it is gone, and with it the audio's plaintext.
func (r *Runner) failStale(ctx context.Context) error {
	return r.Store.Update(ctx, func(tx *store.Tx) error {
		all, err := tx.Voicemails()
		if err != nil {
			return err
		}
		for _, v := range all {
			if v.Transcription != store.TranscriptionPending {
				continue
			}
			if _, err := tx.UpdateVoicemail(v.CallID, func(v *store.Voicemail) error {
				v.Transcription = store.TranscriptionFailed
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

func nonNil(s []Segment) []Segment {
	if s == nil {
		return []Segment{}
	}
	return s
}
