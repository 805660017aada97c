//go:build asterisk

package realasterisk

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	asteriskconfig "llamenos/asterisk-config"
	"llamenos/config"
	"llamenos/sounds"
)

// tools are the programs the tests drive.
type tools struct {
	asterisk string
	sipp     string
	version  string // `asterisk -V`
}

// needTools finds Asterisk and SIPp or skips the test, saying which is
// missing and how to provide it.
func needTools(t *testing.T) tools {
	t.Helper()
	var tl tools
	if p := os.Getenv("LLAMENOS_ASTERISK"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("LLAMENOS_ASTERISK=%s: %v", p, err)
		}
		tl.asterisk = p
	} else if p, err := exec.LookPath("asterisk"); err == nil {
		tl.asterisk = p
	} else {
		t.Skip("no asterisk binary: install Asterisk 22 and put it on the PATH, or set LLAMENOS_ASTERISK to its path")
	}
	p, err := exec.LookPath("sipp")
	if err != nil {
		t.Skip("no sipp on the PATH: install it (Debian: apt-get install sip-tester)")
	}
	tl.sipp = p
	out, err := exec.Command(tl.asterisk, "-V").CombinedOutput()
	if err != nil {
		t.Fatalf("%s -V: %v: %s", tl.asterisk, err, out)
	}
	tl.version = strings.TrimSpace(string(out))
	return tl
}

// Numbers the callers use. They are fictional, and the daemon must never
// write them anywhere in plaintext.
const (
	hotlineNumber = "+15550100000"
	callerNumber  = "+15550123456"
)

// asterisk is one Asterisk process with a configuration of its own.
type asterisk struct {
	t     *testing.T
	tl    tools
	dir   string
	conf  string        // its asterisk.conf
	cfg   config.Config // the daemon's view: ARI URL and password, trunk
	sip   string        // where it takes SIP, 127.0.0.1:port
	cmd   *exec.Cmd
	ended chan struct{}
	err   error // the process's exit, once ended is closed
	// logStart is where the current run's lines begin in messages.log.
	logStart int64
}

// newAsterisk renders the configuration into a fresh directory and starts
// Asterisk on it. It is stopped when the test ends.
func newAsterisk(t *testing.T, tl tools) *asterisk {
	t.Helper()
	// Short: Asterisk's control socket lives under it, and socket paths
	// are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "llast-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Asterisk's files are kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	a := &asterisk{t: t, tl: tl, dir: dir, conf: filepath.Join(dir, "etc", "asterisk.conf")}
	for _, d := range []string{"etc", "lib", "spool", "log", "run", "cache", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	a.linkData(filepath.Join(dir, "data"))
	a.installPrompts()

	pw := make([]byte, 24)
	if _, err := rand.Read(pw); err != nil {
		t.Fatal(err)
	}
	sipPort := freePort(t, "udp")
	ariPort := freePort(t, "tcp")
	rtpStart := 20000 + 2*int(pw[0]%128)*100 // an even 200-port range of its own, most likely
	c := config.Default()
	c.Asterisk.ARIURL = fmt.Sprintf("http://127.0.0.1:%d/ari", ariPort)
	c.Asterisk.ARIPassword = hex.EncodeToString(pw)
	c.Trunk.Host = "127.0.0.1"
	// The provider's port is one nobody listens on: Asterisk's OPTIONS to
	// the trunk go nowhere, and no test process has to answer them.
	c.Trunk.Port = freePort(t, "udp")
	c.Trunk.Match = []string{"127.0.0.1"}
	c.Trunk.DID = hotlineNumber
	c.Trunk.SIPBind = fmt.Sprintf("127.0.0.1:%d", sipPort)
	c.Trunk.RTPStart, c.Trunk.RTPEnd = rtpStart, rtpStart+199
	c.Trunk.ARIBindPort = ariPort
	a.cfg = c
	a.sip = c.Trunk.SIPBind

	files, err := asteriskconfig.Render(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := asteriskconfig.WriteDir(filepath.Join(dir, "etc"), files); err != nil {
		t.Fatal(err)
	}
	// asterisk.conf is the machine's, not the appliance's: this one keeps
	// everything Asterisk reads and writes in dir, and takes the modules
	// from where the binary was installed.
	conf := fmt.Sprintf(`[directories]
astetcdir => %[1]s/etc
astvarlibdir => %[1]s/lib
astdbdir => %[1]s/lib
astkeydir => %[1]s/lib
astdatadir => %[1]s/data
astspooldir => %[1]s/spool
astrundir => %[1]s/run
astlogdir => %[1]s/log
astcachedir => %[1]s/cache

[options]
verbose = 0
debug = 0
`, dir)
	if err := os.WriteFile(a.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	a.start()
	t.Cleanup(a.stop)
	return a
}

// linkData fills the data directory: the installed one's documentation and
// the like, the core sounds and the music on hold, wherever they are
// installed (a source build looks in its own data directory; Debian's
// sound packages install in /usr/share/asterisk).
func (a *asterisk) linkData(data string) {
	a.t.Helper()
	bin, err := filepath.EvalSymlinks(a.tl.asterisk)
	if err != nil {
		a.t.Fatal(err)
	}
	prefix := filepath.Dir(filepath.Dir(bin))
	installed := filepath.Join(prefix, "var", "lib", "asterisk")
	if prefix == "/usr" {
		installed = "/var/lib/asterisk"
	}
	candidates := []string{installed, "/var/lib/asterisk", "/usr/share/asterisk"}
	if entries, err := os.ReadDir(installed); err == nil {
		for _, e := range entries {
			if e.Name() == "sounds" || e.Name() == "moh" {
				continue
			}
			if err := os.Symlink(filepath.Join(installed, e.Name()), filepath.Join(data, e.Name())); err != nil {
				a.t.Fatal(err)
			}
		}
	}
	sounds := filepath.Join(data, "sounds")
	if err := os.Mkdir(sounds, 0o755); err != nil {
		a.t.Fatal(err)
	}
	for _, c := range candidates {
		entries, _ := os.ReadDir(filepath.Join(c, "sounds"))
		for _, e := range entries {
			link := filepath.Join(sounds, e.Name())
			if _, err := os.Lstat(link); err == nil {
				continue
			}
			if err := os.Symlink(filepath.Join(c, "sounds", e.Name()), link); err != nil {
				a.t.Fatal(err)
			}
		}
	}
	if m, _ := filepath.Glob(filepath.Join(sounds, "en", "vm-nobodyavail.*")); len(m) == 0 {
		a.t.Skipf("no English core sounds in %s: install them (Debian: asterisk-core-sounds-en-wav)", strings.Join(candidates, ", "))
	}
	for _, c := range candidates {
		if m, _ := filepath.Glob(filepath.Join(c, "moh", "*.wav")); len(m) > 0 {
			if err := os.Symlink(filepath.Join(c, "moh"), filepath.Join(data, "moh")); err != nil {
				a.t.Fatal(err)
			}
			return
		}
	}
	a.t.Skipf("no music on hold in %s: install it (Debian: asterisk-moh-opsound-wav)", strings.Join(candidates, ", "))
}

// ownLangDir makes this Asterisk's sounds/<lang> a directory of its own:
// linked from the installed one, it becomes a directory of links to the
// installed files, so files can be added or replaced for this Asterisk
// only.
func (a *asterisk) ownLangDir(lang string) string {
	a.t.Helper()
	dir := filepath.Join(a.dir, "data", "sounds", lang)
	src, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o755); err != nil {
			a.t.Fatal(err)
		}
		return dir
	}
	if err != nil {
		a.t.Fatal(err)
	}
	if src == dir {
		return dir
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		a.t.Fatal(err)
	}
	if err := os.Remove(dir); err != nil {
		a.t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		a.t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			a.t.Fatal(err)
		}
	}
	return dir
}

// installPrompts puts the shipped prompts in this Asterisk's sounds
// directory, as `llamenos asterisk-config` does on a real box.
func (a *asterisk) installPrompts() {
	a.t.Helper()
	for _, lang := range sounds.Languages() {
		a.ownLangDir(lang)
	}
	if _, err := sounds.Install(filepath.Join(a.dir, "data", "sounds"), 0o755, 0o644, true); err != nil {
		a.t.Fatal(err)
	}
}

// lengthenSound makes the English sound name (a core sound or a shipped
// prompt) play times over, for this Asterisk only.
func (a *asterisk) lengthenSound(name string, times int) {
	a.t.Helper()
	en := a.ownLangDir("en")
	if ulaw := filepath.Join(en, name+sounds.Ext); fileExists(ulaw) {
		b, err := os.ReadFile(ulaw)
		if err != nil {
			a.t.Fatal(err)
		}
		if err := sounds.WriteFile(ulaw, bytes.Repeat(b, times), 0o644); err != nil {
			a.t.Fatal(err)
		}
		return
	}
	file := filepath.Join(en, name+".wav")
	b, err := os.ReadFile(file)
	if err != nil {
		a.t.Fatal(err)
	}
	// A 44-byte header (see soundDuration), then the samples.
	if len(b) < 44 || string(b[36:40]) != "data" {
		a.t.Fatalf("%s: not a plain 44-byte-header WAV", file)
	}
	pcm := bytes.Repeat(b[44:], times)
	out := append(slices.Clone(b[:44]), pcm...)
	binary.LittleEndian.PutUint32(out[4:], uint32(36+len(pcm)))
	binary.LittleEndian.PutUint32(out[40:], uint32(len(pcm)))
	if err := os.Remove(file); err != nil {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(file, out, 0o644); err != nil {
		a.t.Fatal(err)
	}
}

// promptDuration is how long this Asterisk's prompt llamenos/name lasts
// in lang.
func (a *asterisk) promptDuration(lang, name string) time.Duration {
	a.t.Helper()
	st, err := os.Stat(filepath.Join(a.dir, "data", "sounds", lang, sounds.Dir, name+sounds.Ext))
	if err != nil {
		a.t.Fatal(err)
	}
	return sounds.Duration(int(st.Size()))
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// soundDuration is how long the English sound name plays: a shipped
// prompt (µ-law, 8000 bytes a second) or a core sound.
func (a *asterisk) soundDuration(name string) time.Duration {
	a.t.Helper()
	if first, rest, ok := strings.Cut(name, "&"); ok { // played one after the other
		return a.soundDuration(first) + a.soundDuration(rest)
	}
	en := filepath.Join(a.dir, "data", "sounds", "en")
	if st, err := os.Stat(filepath.Join(en, name+sounds.Ext)); err == nil {
		return sounds.Duration(int(st.Size()))
	}
	f, err := os.Open(filepath.Join(en, name+".wav"))
	if err != nil {
		a.t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		a.t.Fatal(err)
	}
	// Core sounds are 8 kHz, 16-bit mono WAV: 16000 bytes a second after
	// a 44-byte header.
	return time.Duration(st.Size()-44) * time.Second / 16000
}

// start runs Asterisk in the foreground and waits until it has fully
// booted and ARI answers.
func (a *asterisk) start() {
	a.t.Helper()
	if st, err := os.Stat(a.logFile()); err == nil {
		a.logStart = st.Size()
	} else {
		a.logStart = 0
	}
	out, err := os.OpenFile(filepath.Join(a.dir, "log", "stdout"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		a.t.Fatal(err)
	}
	cmd := exec.Command(a.tl.asterisk, "-f", "-n", "-C", a.conf)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		a.t.Fatal(err)
	}
	a.cmd, a.ended = cmd, make(chan struct{})
	go func(ended chan struct{}) {
		a.err = cmd.Wait()
		out.Close()
		close(ended)
	}(a.ended)

	ctl := filepath.Join(a.dir, "run", "asterisk.ctl")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(ctl); err == nil {
			break
		}
		select {
		case <-a.ended:
			a.t.Fatalf("Asterisk exited at start (%v):\n%s", a.err, a.tail(filepath.Join(a.dir, "log", "stdout")))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			a.t.Fatal("Asterisk made no control socket within 60 s")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := a.cli(ctx, "core waitfullybooted"); err != nil {
		a.t.Fatalf("Asterisk did not finish booting: %v: %s", err, out)
	}
	for {
		var ping struct{ Ping string }
		if err := a.ari(ctx, "GET", "/asterisk/ping", &ping); err == nil && ping.Ping == "pong" {
			return
		} else if ctx.Err() != nil {
			a.t.Fatalf("ARI does not answer: %v", err)
		}
		select {
		case <-a.ended:
			a.t.Fatalf("Asterisk exited (%v)", a.err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// cli runs one Asterisk CLI command through the control socket.
func (a *asterisk) cli(ctx context.Context, command string) (string, error) {
	out, err := exec.CommandContext(ctx, a.tl.asterisk, "-C", a.conf, "-rx", command).CombinedOutput()
	return string(out), err
}

// stop shuts Asterisk down as systemd does (SIGTERM) and waits for it.
func (a *asterisk) stop() {
	if a.cmd == nil {
		return
	}
	select {
	case <-a.ended:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.ended:
	case <-time.After(30 * time.Second):
		a.t.Errorf("Asterisk did not stop within 30 s of SIGTERM; killing it")
		_ = a.cmd.Process.Kill()
		<-a.ended
	}
}

func (a *asterisk) logFile() string { return filepath.Join(a.dir, "log", "messages.log") }

// startProblems lists the ERROR and WARNING lines Asterisk logged in its
// current run so far.
func (a *asterisk) startProblems() (errs, warnings []string) {
	a.t.Helper()
	return a.problemsSince(a.logStart)
}

// logSize is where Asterisk's log ends now, for problemsSince.
func (a *asterisk) logSize() int64 {
	a.t.Helper()
	st, err := os.Stat(a.logFile())
	if err != nil {
		a.t.Fatal(err)
	}
	return st.Size()
}

// problemsSince lists the ERROR and WARNING lines Asterisk logged from
// offset on.
func (a *asterisk) problemsSince(offset int64) (errs, warnings []string) {
	a.t.Helper()
	f, err := os.Open(a.logFile())
	if err != nil {
		a.t.Fatalf("Asterisk wrote no messages.log: %v", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		a.t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		switch line := sc.Text(); {
		case strings.Contains(line, "] ERROR["):
			errs = append(errs, line)
		case strings.Contains(line, "] WARNING["):
			warnings = append(warnings, line)
		}
	}
	return errs, warnings
}

// checkStartLog fails the test for every ERROR or WARNING Asterisk logged
// while starting on the rendered configuration.
func (a *asterisk) checkStartLog() {
	a.t.Helper()
	errs, warnings := a.startProblems()
	a.t.Logf("%s: start log has %d ERROR and %d WARNING lines", a.tl.version, len(errs), len(warnings))
	for _, l := range append(errs, warnings...) {
		a.t.Errorf("Asterisk start: %s", l)
	}
}

// tail returns the end of a file, for failure messages.
func (a *asterisk) tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// ari sends one ARI request and decodes the JSON answer into out.
func (a *asterisk) ari(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.cfg.Asterisk.ARIURL+path, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(a.cfg.Asterisk.ARIUser, a.cfg.Asterisk.ARIPassword)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("ARI %s %s: %s: %s", method, path, res.Status, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// ariObject is the part of an ARI channel or bridge the tests print.
type ariObject struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// leftovers lists the channels and bridges Asterisk holds.
func (a *asterisk) leftovers(ctx context.Context) ([]ariObject, []ariObject, error) {
	var ch, br []ariObject
	if err := a.ari(ctx, "GET", "/channels", &ch); err != nil {
		return nil, nil, err
	}
	if err := a.ari(ctx, "GET", "/bridges", &br); err != nil {
		return nil, nil, err
	}
	return ch, br, nil
}

// waitEmpty waits until Asterisk holds no channel and no bridge: after a
// call, nothing the daemon made may be left behind.
func (a *asterisk) waitEmpty(d time.Duration) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		ch, br, err := a.leftovers(ctx)
		if err == nil && len(ch) == 0 && len(br) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			a.t.Fatalf("Asterisk still holds channels %v and bridges %v %v after the call (%v)", ch, br, d, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// channelCount is how many channels Asterisk holds now.
func (a *asterisk) channelCount() int {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ch []ariObject
	if err := a.ari(ctx, "GET", "/channels", &ch); err != nil {
		a.t.Fatal(err)
	}
	return len(ch)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T, network string) int {
	t.Helper()
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	default:
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
}
