package main

import (
	"bytes"
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"llamenos/sounds"
)

// TestAsteriskConfigInstallsPrompts: with -out, asterisk-config writes the
// configuration and puts every shipped prompt where Asterisk looks for
// "llamenos/NAME" in each language, group-writable for the daemon.
func TestAsteriskConfigInstallsPrompts(t *testing.T) {
	dir := t.TempDir()
	etc, snd := filepath.Join(dir, "etc"), filepath.Join(dir, "sounds")
	if err := os.Mkdir(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "llamenos.toml")
	body := "[asterisk]\nari_password = \"0123456789abcdef0123\"\n[trunk]\nhost = \"sip.example.org\"\nmatch = [\"203.0.113.0/24\"]\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// The group of the test's own process, which it may always give files to.
	g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	if err != nil {
		t.Fatal(err)
	}
	group := g.Name
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"asterisk-config", "-config", cfg, "-out", etc, "-sounds", snd, "-sounds-group", group}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, lang := range sounds.Languages() {
		st, err := os.Stat(filepath.Join(snd, lang, sounds.Dir))
		if err != nil || st.Mode()&os.ModeSetgid == 0 || st.Mode().Perm() != 0o775 || st.Sys().(*syscall.Stat_t).Gid != uint32(os.Getgid()) {
			t.Fatalf("%s/%s: %v, %v; want a setgid directory of group %s, mode 0775", lang, sounds.Dir, st, err, group)
		}
		for _, name := range sounds.Names {
			want, _ := sounds.Default(lang, name)
			got, err := os.ReadFile(filepath.Join(snd, sounds.Path(lang, name)))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: not the shipped prompt (%v)", sounds.Path(lang, name), err)
			}
		}
	}
	if code := run(context.Background(), []string{"asterisk-config", "-config", cfg, "-out", etc, "-sounds", snd, "-sounds-group", "no-such-group-here"}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "no-such-group-here") {
		t.Errorf("an unknown -sounds-group: exit %d, %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "caller prompts are in "+snd) {
		t.Errorf("output does not say where the prompts are:\n%s", out.String())
	}
	ext, err := os.ReadFile(filepath.Join(etc, "extensions.conf"))
	if err != nil || !strings.Contains(string(ext), "Playback(llamenos/error)") {
		t.Errorf("extensions.conf does not play the shipped error prompt when the daemon is down (%v)", err)
	}
}
