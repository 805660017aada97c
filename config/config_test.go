package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadFileAndEnv(t *testing.T) {
	cfg, err := Load("testdata/good.toml", []string{
		"LLAMENOS_DATA_DIR=/tmp/x",
		"LLAMENOS_RTC_STUN_URLS=stun:a.example:3478, stun:b.example",
		"LLAMENOS_RTC_BROWSER_GRACE=30s",
		"LLAMENOS_LIMITS_MAX_CALLS=12",
		"PATH=/usr/bin",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "0.0.0.0:443" || cfg.Data.Dir != "/tmp/x" {
		t.Fatalf("file or env not applied: %+v", cfg)
	}
	if got := cfg.RTC.STUNURLs; len(got) != 2 || got[1] != "stun:b.example" {
		t.Fatalf("list override: %q", got)
	}
	if cfg.RTC.BrowserGrace != 30*time.Second || cfg.RTC.UDPPort != 3478 {
		t.Fatalf("rtc: %+v", cfg.RTC)
	}
	if cfg.Asterisk.App != "llamenos" {
		t.Fatalf("default lost: %q", cfg.Asterisk.App)
	}
	if want := (Limits{MaxCalls: 12, MaxSocketsPerAccount: DefaultMaxSocketsPerAccount, MaxSockets: DefaultMaxSockets}); cfg.Limits != want {
		t.Fatalf("limits %+v, want %+v", cfg.Limits, want)
	}
}

func TestDefaultsValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSecretFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ari")
	if err := os.WriteFile(p, []byte("pw-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load("", []string{"LLAMENOS_ASTERISK_ARI_PASSWORD_FILE=" + p})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Asterisk.ARIPassword != "pw-from-file" {
		t.Fatalf("password %q", cfg.Asterisk.ARIPassword)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, file string
		env        []string
		want       string
	}{
		{"public listen without tls", "[server]\nlisten = \"0.0.0.0:8080\"\n", nil, "TLS is required"},
		{"unknown key", "[server]\nlisten_addr = \"x\"\n", nil, "unknown keys server.listen_addr"},
		{"syntax", "[server\n", nil, "c.toml"},
		{"bad timezone-free level", "[log]\nlevel = \"loud\"\n", nil, "log.level"},
		{"metrics public", "[server]\nmetrics_listen = \"0.0.0.0:9464\"\n", nil, "server.metrics_listen"},
		{"media off box", "[asterisk]\nmedia_host = \"10.0.0.1\"\n", nil, "asterisk.media_host"},
		{"turn without creds", "[rtc]\nturn_urls = [\"turn:t.example\"]\n", nil, "turn_username"},
		{"turn secret and password", "[rtc]\nturn_urls = [\"turn:t.example\"]\nturn_secret = \"0123456789abcdef0\"\nturn_password = \"p\"\n", nil, "not both"},
		{"rtc ips", "[rtc]\nips = [\"eth0\"]\n", nil, "rtc.ips"},
		{"turn secret short", "[rtc]\nturn_urls = [\"turn:t.example\"]\nturn_secret = \"short\"\n", nil, "rtc.turn_secret"},
		{"env bad int", "", []string{"LLAMENOS_RTC_UDP_PORT=abc"}, "LLAMENOS_RTC_UDP_PORT"},
		{"env unknown", "", []string{"LLAMENOS_SERVER_LISTN=x"}, "not a known setting"},
		{"env bad duration", "", []string{"LLAMENOS_RTC_BROWSER_GRACE=soon"}, "duration"},
		{"http public url", "[server]\npublic_url = \"http://hotline.example.org\"\n", nil, "https"},
		{"ip public url", "[server]\npublic_url = \"https://203.0.113.9\"\n", nil, "host name"},
		{"no calls", "[limits]\nmax_calls = 0\n", nil, "limits.max_calls"},
		{"sockets past the connection cap", "", []string{"LLAMENOS_LIMITS_MAX_SOCKETS=5000"}, "limits.max_sockets"},
		{"account above total", "[limits]\nmax_sockets = 4\nmax_sockets_per_account = 5\n", nil, "limits.max_sockets_per_account"},
		{"missing secret file", "", []string{"LLAMENOS_ASTERISK_ARI_PASSWORD_FILE=/nonexistent/pw"}, "ari_password_file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = write(tc.file)
			}
			_, err := Load(path, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Log.Level = "x"
	c.Log.Format = "y"
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "log.level") || !strings.Contains(err.Error(), "log.format") {
		t.Fatalf("want both problems, got %v", err)
	}
}

func TestARIStaysOnTheBox(t *testing.T) {
	for _, tc := range []struct {
		url    string
		remote bool
		want   string // "" = valid
	}{
		{"http://127.0.0.1:8088/ari", false, ""},
		{"http://127.0.0.2:8088/ari", false, ""},
		{"http://localhost:8088/ari", false, ""},
		{"http://[::1]:8088/ari", false, ""},
		{"http://203.0.113.5:8088/ari", false, "not on this machine"},
		{"https://asterisk.example:8089/ari", false, "not on this machine"},
		{"http://203.0.113.5:8088/ari", true, "cleartext"},
		{"https://asterisk.example:8089/ari", true, ""},
	} {
		c := Default()
		c.Asterisk.ARIURL, c.Asterisk.ARIRemote = tc.url, tc.remote
		err := c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s (remote %v): %v", tc.url, tc.remote, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "asterisk.ari_url")):
			t.Errorf("%s (remote %v): got %v, want %q", tc.url, tc.remote, err, tc.want)
		}
	}
}

// TestCallerKeyFile: the key of caller-number hashes defaults to a systemd
// credential, else to a file beside the configuration file, and is never
// allowed inside the data directory (which backups copy).
func TestCallerKeyFile(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "llamenos.toml")
	if err := os.WriteFile(cfgPath, []byte("[data]\ndir = \""+filepath.Join(dir, "data")+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, CallerKeyName); cfg.Data.CallerKeyFile != want {
		t.Errorf("default %q, want %q", cfg.Data.CallerKeyFile, want)
	}
	creds := t.TempDir()
	env := []string{"CREDENTIALS_DIRECTORY=" + creds}
	if cfg, _ := Load(cfgPath, env); cfg.Data.CallerKeyFile != filepath.Join(dir, CallerKeyName) {
		t.Errorf("a credentials directory without the key was used: %q", cfg.Data.CallerKeyFile)
	}
	if err := os.WriteFile(filepath.Join(creds, CallerKeyName), []byte("x"), 0o400); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := Load(cfgPath, env); cfg.Data.CallerKeyFile != filepath.Join(creds, CallerKeyName) {
		t.Errorf("the systemd credential was not used: %q", cfg.Data.CallerKeyFile)
	}
	for _, inside := range []string{filepath.Join(dir, "data", "caller-key"), filepath.Join(dir, "data", "sub", "k")} {
		_, err := Load(cfgPath, []string{"LLAMENOS_DATA_CALLER_KEY_FILE=" + inside})
		if err == nil || !strings.Contains(err.Error(), "data.caller_key_file") {
			t.Errorf("key file %q inside the data directory: %v", inside, err)
		}
	}
	if cfg, err := Load(cfgPath, []string{"LLAMENOS_DATA_CALLER_KEY_FILE=" + filepath.Join(dir, "data-key")}); err != nil || cfg.Data.CallerKeyFile != filepath.Join(dir, "data-key") {
		t.Errorf("a sibling of the data directory: %v", err)
	}
}
