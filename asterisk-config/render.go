// Package asteriskconfig renders the Asterisk configuration files the
// appliance needs from the daemon's own configuration, so the two can never
// disagree about the ARI user, the Stasis app name or the loopback binding.
package asteriskconfig

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"llamenos/config"
)

//go:embed templates/*.tmpl
var templates embed.FS

// File is one rendered Asterisk configuration file.
type File struct {
	Name string
	Mode os.FileMode
	Body []byte
}

type params struct {
	ARIPort         int
	ARIUser         string
	ARIPassword     string
	App             string
	SIPBind         string
	ExternalAddress string
	LocalNets       []string
	Host            string
	Port            int
	Username        string
	Password        string
	HasAuth         bool
	Register        bool
	ContactUser     string
	Match           []string
	Codec           string
	RTPStart        int
	RTPEnd          int
	FailureSound    string
	MOHClass        string
}

// Asterisk's config parser treats ; as a comment and newlines as line ends;
// a value carrying either would silently change the file's meaning.
var safeValue = regexp.MustCompile(`^[^;\r\n\[\]]*$`)

// Render validates the trunk settings and returns every file, sorted by name.
func Render(c config.Config) ([]File, error) {
	t := c.Trunk
	p := params{
		ARIPort:         t.ARIBindPort,
		ARIUser:         c.Asterisk.ARIUser,
		ARIPassword:     c.Asterisk.ARIPassword,
		App:             c.Asterisk.App,
		SIPBind:         t.SIPBind,
		ExternalAddress: t.ExternalAddress,
		LocalNets:       t.LocalNets,
		Host:            t.Host,
		Port:            t.Port,
		Username:        t.Username,
		Password:        t.Password,
		HasAuth:         t.Username != "" && t.Password != "",
		Register:        t.Register,
		ContactUser:     t.DID,
		Match:           t.Match,
		Codec:           t.Codec,
		RTPStart:        t.RTPStart,
		RTPEnd:          t.RTPEnd,
		FailureSound:    t.FailureSound,
		MOHClass:        t.MusicOnHoldClass,
	}
	if p.ContactUser == "" {
		p.ContactUser = t.Username
	}
	if err := p.validate(c); err != nil {
		return nil, err
	}
	entries, err := templates.ReadDir("templates")
	if err != nil {
		return nil, fmt.Errorf("asterisk-config: %w", err)
	}
	var files []File
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".tmpl")
		tmpl, err := template.ParseFS(templates, "templates/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("asterisk-config: %s: %w", name, err)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, p); err != nil {
			return nil, fmt.Errorf("asterisk-config: %s: %w", name, err)
		}
		mode := os.FileMode(0o644)
		if name == "ari.conf" || name == "pjsip.conf" {
			mode = 0o640 // passwords
		}
		files = append(files, File{Name: name, Mode: mode, Body: buf.Bytes()})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, nil
}

func (p params) validate(c config.Config) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	u := c.Asterisk.ARIURL
	if !strings.HasPrefix(u, "http://127.0.0.1:") && !strings.HasPrefix(u, "http://localhost:") {
		bad("asterisk.ari_url", "%q: the generated http.conf binds ARI to 127.0.0.1, so the daemon must use it there", u)
	} else if !strings.Contains(u, fmt.Sprintf(":%d/", p.ARIPort)) {
		bad("trunk.ari_bind_port", "%d does not match the port in asterisk.ari_url %q", p.ARIPort, u)
	}
	if p.ARIPassword == "" {
		bad("asterisk.ari_password", "is empty: set it (or ari_password_file) so ari.conf gets a password")
	} else if len(p.ARIPassword) < 16 {
		bad("asterisk.ari_password", "is shorter than 16 characters; use a long random one (openssl rand -hex 24)")
	}
	if p.Host == "" {
		bad("trunk.host", "is empty: set your SIP provider's host name or IP")
	}
	if p.Register && !p.HasAuth {
		bad("trunk.register", "registration needs trunk.username and trunk.password")
	}
	if !p.Register && len(p.Match) == 0 {
		bad("trunk.match", "without registration, list the provider's signalling IPs or subnets so its calls are recognised")
	}
	for _, m := range p.Match {
		if net.ParseIP(m) == nil {
			if _, _, err := net.ParseCIDR(m); err != nil && !regexp.MustCompile(`^[A-Za-z0-9.-]+$`).MatchString(m) {
				bad("trunk.match", "%q is not an IP, subnet or host name", m)
			}
		}
	}
	if p.ExternalAddress != "" && net.ParseIP(p.ExternalAddress) == nil {
		bad("trunk.external_address", "%q is not an IP address", p.ExternalAddress)
	}
	for _, n := range p.LocalNets {
		if _, _, err := net.ParseCIDR(n); err != nil {
			bad("trunk.local_nets", "%q is not a subnet such as 192.168.0.0/16", n)
		}
	}
	if _, _, err := net.SplitHostPort(p.SIPBind); err != nil {
		bad("trunk.sip_bind", "%q is not host:port", p.SIPBind)
	}
	for key, v := range map[string]string{
		"asterisk.ari_user": p.ARIUser, "asterisk.ari_password": p.ARIPassword, "asterisk.app": p.App,
		"trunk.host": p.Host, "trunk.username": p.Username, "trunk.password": p.Password,
		"trunk.did": p.ContactUser, "trunk.failure_sound": p.FailureSound, "trunk.moh_class": p.MOHClass,
	} {
		if !safeValue.MatchString(v) {
			bad(key, "contains ';', '[', ']' or a line break, which Asterisk's config syntax cannot carry")
		}
	}
	if p.ARIUser == "" || strings.ContainsAny(p.ARIUser, " \t") {
		bad("asterisk.ari_user", "%q must be a single word", p.ARIUser)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("asterisk-config: %w", errors.Join(errs...))
}

// WriteDir writes the files into dir with their modes. It writes each file to
// a temporary name first so a failure never leaves a half-written config.
func WriteDir(dir string, files []File) error {
	for _, f := range files {
		tmp, err := os.CreateTemp(dir, "."+f.Name+".*")
		if err != nil {
			return fmt.Errorf("asterisk-config: %w", err)
		}
		_, werr := tmp.Write(f.Body)
		if werr == nil {
			werr = tmp.Chmod(f.Mode)
		}
		if cerr := tmp.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Rename(tmp.Name(), filepath.Join(dir, f.Name))
		}
		if werr != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("asterisk-config: write %s: %w", f.Name, werr)
		}
	}
	return nil
}
