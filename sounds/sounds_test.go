package sounds_test

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"llamenos/ari"
	"llamenos/ari/aritest"
	"llamenos/audio"
	"llamenos/audio/audiotest"
	"llamenos/sounds"
)

// lengths are the bounds each prompt's recording must fall within: long
// enough to be the sentence it stands for, short enough that a caller is
// not kept listening.
var lengths = map[string][2]time.Duration{
	"language-menu": {700 * time.Millisecond, 2500 * time.Millisecond},
	"captcha-intro": {2 * time.Second, 7 * time.Second},
	"captcha-retry": {1500 * time.Millisecond, 6 * time.Second},
	"captcha-fail":  {1500 * time.Millisecond, 6 * time.Second},
	"transcribed":   {2 * time.Second, 7 * time.Second},
	"greeting":      {2500 * time.Millisecond, 8 * time.Second},
	"busy":          {2500 * time.Millisecond, 8 * time.Second},
	"unavailable":   {2500 * time.Millisecond, 8 * time.Second},
	"voicemail":     {2500 * time.Millisecond, 8 * time.Second},
	"error":         {2 * time.Second, 7 * time.Second},
}

// TestEveryPromptPlays plays each shipped prompt in each language through
// the simulator, as the call engine does ("sound:llamenos/NAME" with the
// caller's language), and checks the caller got the language's own file,
// for as long as it lasts, and that it is speech: loud enough overall,
// with no long gap and little silence at either end.
func TestEveryPromptPlays(t *testing.T) {
	sim, err := aritest.New(aritest.Options{Sounds: sounds.FS()})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cl, err := ari.New(ari.Config{URL: sim.URL(), Username: sim.Username(), Password: sim.Password(), App: "prompts", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = cl.Run(ctx) }()
	defer func() { cl.Close(); <-done }()
	if err := sim.WaitApp(ctx, "prompts"); err != nil {
		t.Fatal(err)
	}
	langs := sounds.Languages()
	if !slices.Contains(langs, "en") || !slices.Contains(langs, "es") {
		t.Fatalf("languages %v, want en and es at least", langs)
	}
	if len(lengths) != len(sounds.Names) {
		t.Fatalf("%d length bounds for %d prompts", len(lengths), len(sounds.Names))
	}
	// One call per prompt, all at once: the files play in real time, and
	// one after another they would take over a minute.
	type play struct {
		lang, name string
		call       *aritest.Call
		sub        *ari.Subscription
	}
	var plays []play
	for _, lang := range langs {
		for _, name := range sounds.Names {
			call, err := sim.PlaceCall(aritest.CallSpec{App: "prompts", CallerNumber: "+15550100000"})
			if err != nil {
				t.Fatal(err)
			}
			var sub *ari.Subscription
			for sub == nil {
				select {
				case n := <-cl.Notifications():
					if nc, ok := n.(*ari.NewChannel); ok {
						sub = nc.Subscription
					}
				case <-ctx.Done():
					t.Fatal("no NewChannel")
				}
			}
			defer sub.Close()
			defer call.Hangup()
			if err := cl.Answer(ctx, call.ChannelID()); err != nil {
				t.Fatal(err)
			}
			pbID := lang + "-" + name
			sub.Expect(ari.PlaybackKey(pbID))
			if _, err := cl.PlayChannel(ctx, call.ChannelID(), pbID, []string{"sound:" + sounds.Dir + "/" + name}, &ari.PlayOptions{Lang: lang}); err != nil {
				t.Fatal(err)
			}
			plays = append(plays, play{lang, name, call, sub})
		}
	}
	for _, pl := range plays {
		lang, name := pl.lang, pl.name
		waitFinished(ctx, t, pl.sub, lang+"-"+name)
		heard := pl.call.Prompts()
		if len(heard) != 1 {
			t.Fatalf("%s/%s: the caller heard %d files, want 1", lang, name, len(heard))
		}
		p := heard[0]
		want, err := sounds.Default(lang, name)
		if err != nil {
			t.Fatal(err)
		}
		if p.File != sounds.Path(lang, name) || !p.Complete || !slices.Equal(p.Samples, audio.DecodeMulaw(nil, want)) {
			t.Errorf("%s/%s: the caller heard %s (complete %v, %d samples), want the whole of %s (%d samples)",
				lang, name, p.File, p.Complete, len(p.Samples), sounds.Path(lang, name), len(want))
		}
		length := sounds.Duration(len(want))
		// The simulator's clock may run late on a loaded machine, never
		// early.
		if took := p.Finished.Sub(p.Started); took < length-frame {
			t.Errorf("%s/%s: played for %v, the file lasts %v", lang, name, took, length)
		}
		checkSpeech(t, lang+"/"+name, p.Samples, lengths[name])
	}
}

const frame = 20 * time.Millisecond

func waitFinished(ctx context.Context, t *testing.T, sub *ari.Subscription, id string) {
	t.Helper()
	for {
		select {
		case ev := <-sub.Events():
			if f, ok := ev.(*ari.PlaybackFinished); ok && f.Playback.ID == id {
				if f.Playback.State != ari.PlaybackStateDone {
					t.Fatalf("playback %s finished %s", id, f.Playback.State)
				}
				return
			}
		case <-ctx.Done():
			t.Fatalf("playback %s did not finish", id)
		}
	}
}

// checkSpeech: the length is within bounds, the recording is loud enough,
// it starts and ends within 200 ms of its sound, and no gap inside it is
// longer than 800 ms (a pause between sentences is about 300 ms).
func checkSpeech(t *testing.T, what string, samples []int16, bounds [2]time.Duration) {
	t.Helper()
	length := sounds.Duration(len(samples))
	if length < bounds[0] || length > bounds[1] {
		t.Errorf("%s lasts %v, want %v to %v", what, length, bounds[0], bounds[1])
	}
	if rms := audiotest.RMS(samples); rms < 1500 {
		t.Errorf("%s: RMS %.0f, too quiet to be the prompt", what, rms)
	}
	const win = audio.FrameSamples // 20 ms windows
	var loud []bool
	for i := 0; i+win <= len(samples); i += win {
		loud = append(loud, audiotest.RMS(samples[i:i+win]) > 300)
	}
	first, last := slices.Index(loud, true), -1
	for i, l := range loud {
		if l {
			last = i
		}
	}
	if first < 0 {
		t.Errorf("%s is silent throughout", what)
		return
	}
	if lead, trail := time.Duration(first)*frame, time.Duration(len(loud)-1-last)*frame; lead > 200*time.Millisecond || trail > 200*time.Millisecond {
		t.Errorf("%s: %v of silence before the speech, %v after it; want at most 200 ms", what, lead, trail)
	}
	gap := 0
	for _, l := range loud[first : last+1] {
		if l {
			gap = 0
			continue
		}
		if gap++; time.Duration(gap)*frame > 800*time.Millisecond {
			t.Errorf("%s: a gap of more than 800 ms inside the speech", what)
			return
		}
	}
}

func TestInstall(t *testing.T) {
	dir := t.TempDir()
	written, err := sounds.Install(dir, 0o775, 0o664, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(sounds.Languages()) * len(sounds.Names); len(written) != want {
		t.Fatalf("wrote %d files, want %d", len(written), want)
	}
	err = fs.WalkDir(sounds.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want, _ := fs.ReadFile(sounds.FS(), p)
		got, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: installed copy differs (%v)", p, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "es", sounds.Dir))
	if err != nil || st.Mode().Perm() != 0o775 {
		t.Fatalf("es/llamenos: %v, %v; want mode 0775", st, err)
	}
	// An admin's recording survives a reinstall unless overwrite is set.
	own := filepath.Join(dir, sounds.Path("en", "greeting"))
	if err := os.WriteFile(own, []byte{0xff, 0x7f}, 0o664); err != nil {
		t.Fatal(err)
	}
	if written, err := sounds.Install(dir, 0o775, 0o664, false); err != nil || len(written) != 0 {
		t.Fatalf("reinstall wrote %v, %v; want nothing", written, err)
	}
	if b, _ := os.ReadFile(own); !bytes.Equal(b, []byte{0xff, 0x7f}) {
		t.Fatal("reinstall replaced the admin's recording")
	}
	if _, err := sounds.Install(dir, 0o775, 0o664, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(own); bytes.Equal(b, []byte{0xff, 0x7f}) {
		t.Fatal("overwrite kept the admin's recording")
	}
}

func TestDefaultRefusesUnknown(t *testing.T) {
	for _, c := range [][2]string{{"en", "nope"}, {"xx", "greeting"}, {"en", "../en/llamenos/greeting"}} {
		if _, err := sounds.Default(c[0], c[1]); err == nil {
			t.Errorf("Default(%q, %q) gave a recording", c[0], c[1])
		}
	}
}
