package asteriskconfig

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"llamenos/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func baseConfig() config.Config {
	c := config.Default()
	c.Asterisk.ARIPassword = "0123456789abcdef0123"
	c.Trunk.Host = "sip.provider.example"
	c.Trunk.Username = "hotline42"
	c.Trunk.Password = "trunk-secret"
	c.Trunk.DID = "+15551230000"
	return c
}

func TestGolden(t *testing.T) {
	registered := baseConfig()
	registered.Trunk.Register = true
	identified := baseConfig()
	identified.Trunk.Username, identified.Trunk.Password = "", ""
	identified.Trunk.Match = []string{"203.0.113.0/24", "198.51.100.7"}
	identified.Trunk.ExternalAddress = "192.0.2.10"
	identified.Trunk.LocalNets = []string{"10.0.0.0/8"}

	for name, cfg := range map[string]config.Config{"registered": registered, "identified": identified} {
		t.Run(name, func(t *testing.T) {
			files, err := Render(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var all bytes.Buffer
			for _, f := range files {
				all.WriteString("==> " + f.Name + " (" + f.Mode.String() + ")\n")
				all.Write(f.Body)
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, all.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./asterisk-config -update)", err)
			}
			if !bytes.Equal(all.Bytes(), want) {
				t.Fatalf("render differs from %s; rerun with -update if intended:\n%s", golden, all.String())
			}
		})
	}
}

func TestInvariants(t *testing.T) {
	c := baseConfig()
	c.Trunk.Register = true
	files, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]File{}
	for _, f := range files {
		byName[f.Name] = f
	}
	for _, want := range []string{"http.conf", "ari.conf", "pjsip.conf", "extensions.conf", "rtp.conf", "modules.conf", "cdr.conf", "cel.conf", "logger.conf", "musiconhold.conf"} {
		if _, ok := byName[want]; !ok {
			t.Errorf("missing %s", want)
		}
	}
	// Asterisk's core and the modules loaded read these at every start and
	// log an ERROR or WARNING for each one missing.
	for _, want := range []string{"acl.conf", "ccss.conf", "features.conf", "indications.conf", "manager.conf", "pjproject.conf", "stasis.conf", "udptl.conf", "websocket_client.conf"} {
		if _, ok := byName[want]; !ok {
			t.Errorf("missing %s: Asterisk complains at start without it", want)
		}
	}
	must := func(file, sub string) {
		t.Helper()
		if !strings.Contains(string(byName[file].Body), sub) {
			t.Errorf("%s lacks %q", file, sub)
		}
	}
	must("http.conf", "bindaddr = 127.0.0.1")
	must("ari.conf", "[llamenos]")
	must("extensions.conf", "Stasis(llamenos,inbound)")
	must("extensions.conf", `"${STASISSTATUS}" = "FAILED"`)
	must("cdr.conf", "enable = no")
	must("pjsip.conf", "line = yes")
	must("manager.conf", "enabled = no")
	must("modules.conf", "load = res_websocket_client.so")
	// The default tone zone must be defined, or Asterisk warns it cannot
	// set it.
	must("indications.conf", "country = us")
	must("indications.conf", "[us]")
	for _, secret := range []string{"ari.conf", "pjsip.conf"} {
		if byName[secret].Mode != 0o640 {
			t.Errorf("%s mode %v, want 0640", secret, byName[secret].Mode)
		}
	}
	if strings.Contains(string(byName["extensions.conf"].Body), "CALLERID") {
		t.Error("dialplan must not touch the caller number")
	}
}

func TestBadInput(t *testing.T) {
	cases := map[string]struct {
		mod  func(*config.Config)
		want string
	}{
		"no host":            {func(c *config.Config) { c.Trunk.Host = "" }, "trunk.host"},
		"register no auth":   {func(c *config.Config) { c.Trunk.Register = true; c.Trunk.Password = "" }, "registration needs"},
		"no match no reg":    {func(c *config.Config) {}, "trunk.match"},
		"short ari password": {func(c *config.Config) { c.Asterisk.ARIPassword = "short" }, "shorter than 16"},
		"no ari password":    {func(c *config.Config) { c.Asterisk.ARIPassword = "" }, "is empty"},
		"injection":          {func(c *config.Config) { c.Trunk.Register = true; c.Trunk.Password = "x\n[evil]" }, "trunk.password"},
		"remote ari":         {func(c *config.Config) { c.Asterisk.ARIURL = "http://10.1.1.1:8088/ari" }, "asterisk.ari_url"},
		"port mismatch":      {func(c *config.Config) { c.Asterisk.ARIURL = "http://127.0.0.1:9999/ari" }, "ari_bind_port"},
		"bad match":          {func(c *config.Config) { c.Trunk.Match = []string{"not a host!"} }, "trunk.match"},
		"bad local net":      {func(c *config.Config) { c.Trunk.Register = true; c.Trunk.LocalNets = []string{"10.0.0.1"} }, "trunk.local_nets"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := baseConfig()
			tc.mod(&c)
			_, err := Render(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestWriteDir(t *testing.T) {
	c := baseConfig()
	c.Trunk.Register = true
	files, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteDir(dir, files); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "ari.conf"))
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("ari.conf: %v %v", st, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if err := WriteDir(filepath.Join(dir, "missing"), files); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}
