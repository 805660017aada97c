// Package config loads the daemon's configuration: one TOML file, then
// LLAMENOS_<SECTION>_<KEY> environment overrides, then Validate with messages
// a sysadmin can act on. Runtime knobs an admin changes from the browser
// (queue timeout, voicemail mode, time zone...) live in the store, not here.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole daemon configuration.
type Config struct {
	Server        Server        `toml:"server"`
	Data          Data          `toml:"data"`
	Asterisk      Asterisk      `toml:"asterisk"`
	Trunk         Trunk         `toml:"trunk"`
	RTC           RTC           `toml:"rtc"`
	Transcription Transcription `toml:"transcription"`
	Log           Log           `toml:"log"`
	Limits        Limits        `toml:"limits"`
}

// Server is the HTTPS listener the browsers talk to.
type Server struct {
	// Listen is host:port. Plain HTTP is allowed only when this is a loopback
	// address; anywhere else the daemon requires TLS (cert files or ACME).
	Listen string `toml:"listen"`
	// PublicURL is the origin browsers use, e.g. https://hotline.example.org.
	// It is the WebAuthn relying party and the only Origin accepted on
	// state-changing requests and the WebSocket.
	PublicURL   string   `toml:"public_url"`
	TLSCertFile string   `toml:"tls_cert_file"`
	TLSKeyFile  string   `toml:"tls_key_file"`
	ACMEDomains []string `toml:"acme_domains"`
	ACMEEmail   string   `toml:"acme_email"`
	// MetricsListen serves /metrics (Prometheus) and must be loopback.
	MetricsListen string `toml:"metrics_listen"`
}

// Data is where the daemon keeps its state.
type Data struct {
	Dir string `toml:"dir"`
	// CallerKeyFile holds the key of caller-number hashes, outside Dir so
	// that the database and its backups do not carry it. Default: a
	// systemd credential named caller-key ($CREDENTIALS_DIRECTORY) when
	// there is one, else "caller-key" beside the configuration file. The
	// daemon creates it (0600) at first start when it can.
	CallerKeyFile string `toml:"caller_key_file"`
}

// CallerKeyName is the key file's name beside the configuration file, and
// the systemd credential's name.
const CallerKeyName = "caller-key"

// Asterisk is how the daemon reaches Asterisk's ARI.
type Asterisk struct {
	ARIURL string `toml:"ari_url"`
	// ARIRemote allows an ari_url off this machine, and only over https:
	// ARI carries its password and every caller's number.
	ARIRemote       bool   `toml:"ari_remote"`
	ARIUser         string `toml:"ari_user"`
	ARIPassword     string `toml:"ari_password"`
	ARIPasswordFile string `toml:"ari_password_file"`
	App             string `toml:"app"`
	// MediaHost is the loopback address the per-call externalMedia sockets bind to.
	MediaHost string `toml:"media_host"`
	// SoundsDir is Asterisk's sounds directory: `llamenos asterisk-config`
	// installs the shipped prompts in <sounds_dir>/<lang>/llamenos/, and
	// the daemon writes admins' recordings there. Empty: admins cannot
	// replace prompts.
	SoundsDir string `toml:"sounds_dir"`
}

// Trunk describes the SIP trunk; only `llamenos asterisk-config` reads it.
type Trunk struct {
	Host             string   `toml:"host"`
	Port             int      `toml:"port"`
	Username         string   `toml:"username"`
	Password         string   `toml:"password"`
	PasswordFile     string   `toml:"password_file"`
	Register         bool     `toml:"register"`
	Match            []string `toml:"match"`
	DID              string   `toml:"did"`
	Codec            string   `toml:"codec"`
	SIPBind          string   `toml:"sip_bind"`
	ExternalAddress  string   `toml:"external_address"`
	LocalNets        []string `toml:"local_nets"`
	RTPStart         int      `toml:"rtp_start"`
	RTPEnd           int      `toml:"rtp_end"`
	FailureSound     string   `toml:"failure_sound"`
	AsteriskConfDir  string   `toml:"asterisk_conf_dir"`
	ARIBindPort      int      `toml:"ari_bind_port"`
	MusicOnHoldClass string   `toml:"moh_class"`
}

// RTC is the WebRTC side facing volunteers' browsers.
type RTC struct {
	// UDPPort, when non-zero, serves every PeerConnection on one UDP port
	// (ICE UDP mux): one firewall rule instead of a range.
	UDPPort int `toml:"udp_port"`
	// TCPPort, when non-zero, offers ICE-TCP for networks that block UDP.
	TCPPort int `toml:"tcp_port"`
	// PublicIPs rewrite host candidates for a box behind 1:1 NAT.
	PublicIPs []string `toml:"public_ips"`
	// Interfaces and IPs, when set, are the only local interfaces and
	// addresses offered to browsers as media candidates. By default every
	// interface but container and VM bridges is offered.
	Interfaces   []string `toml:"interfaces"`
	IPs          []string `toml:"ips"`
	STUNURLs     []string `toml:"stun_urls"`
	TURNURLs     []string `toml:"turn_urls"`
	TURNUsername string   `toml:"turn_username"`
	TURNPassword string   `toml:"turn_password"`
	// TURNSecret is the TURN server's shared secret (coturn
	// use-auth-secret / static-auth-secret): instead of one static
	// username and password, every call gets credentials that expire.
	TURNSecret string `toml:"turn_secret"`
	// BrowserGrace is how long a caller waits, hearing music on hold, after
	// the volunteer's browser vanished (a reload, a crash, a network change)
	// before the call is ended: long enough to reopen the page and unlock.
	BrowserGrace time.Duration `toml:"browser_grace"`
}

// Transcription configures whisper.cpp (build tag `whisper`).
type Transcription struct {
	// Model is the ggml model file, relative to the data directory
	// ("models/ggml-base.bin", as `llamenos model install` prints) or
	// absolute; "" turns transcription off. The daemon verifies it at
	// start against the checksum recorded at install, and transcribes
	// nothing with a model that fails.
	Model string `toml:"model"`
	// Threads is the number of inference threads of a transcription job.
	Threads int `toml:"threads"`
}

// Limits protect the appliance from more load than it was sized for
// (docs/operations.md says how to size them).
type Limits struct {
	// MaxCalls caps the calls handled at once, from a caller's arrival to
	// the hangup; a caller past it hears that nobody is available.
	MaxCalls int `toml:"max_calls"`
	// MaxSocketsPerAccount caps one account's open WebSockets (its tabs
	// and devices together); MaxSockets caps everyone's together.
	MaxSocketsPerAccount int `toml:"max_sockets_per_account"`
	MaxSockets           int `toml:"max_sockets"`
}

// Default limits (docs/operations.md).
const (
	DefaultMaxCalls             = 50
	DefaultMaxSocketsPerAccount = 8
	DefaultMaxSockets           = 1000
)

// Log configures log/slog on stderr.
type Log struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// Default returns the configuration used when a key is absent.
func Default() Config {
	return Config{
		Server: Server{
			Listen:        "127.0.0.1:8080",
			PublicURL:     "http://localhost:8080",
			MetricsListen: "127.0.0.1:9464",
		},
		Data: Data{Dir: "/var/lib/llamenos"},
		Asterisk: Asterisk{
			ARIURL:    "http://127.0.0.1:8088/ari",
			ARIUser:   "llamenos",
			App:       "llamenos",
			MediaHost: "127.0.0.1",
			SoundsDir: "/var/lib/asterisk/sounds",
		},
		Trunk: Trunk{
			Port:             5060,
			Codec:            "ulaw",
			SIPBind:          "0.0.0.0:5060",
			RTPStart:         10000,
			RTPEnd:           20000,
			FailureSound:     "llamenos/error",
			AsteriskConfDir:  "/etc/asterisk",
			ARIBindPort:      8088,
			MusicOnHoldClass: "default",
		},
		RTC:           RTC{BrowserGrace: 90 * time.Second},
		Transcription: Transcription{Threads: 2},
		Log:           Log{Level: "info", Format: "text"},
		Limits:        Limits{MaxCalls: DefaultMaxCalls, MaxSocketsPerAccount: DefaultMaxSocketsPerAccount, MaxSockets: DefaultMaxSockets},
	}
}

// EnvPrefix starts every environment override, e.g. LLAMENOS_SERVER_LISTEN.
const EnvPrefix = "LLAMENOS_"

// Load reads path (if not empty) over the defaults, applies environment
// overrides from environ (os.Environ() form), reads *_file secrets and
// validates the result.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		md, err := toml.DecodeFile(path, &cfg)
		if err != nil {
			return Config{}, fmt.Errorf("config: %s: %w", path, err)
		}
		if undec := md.Undecoded(); len(undec) > 0 {
			keys := make([]string, len(undec))
			for i, k := range undec {
				keys[i] = k.String()
			}
			return Config{}, fmt.Errorf("config: %s: unknown keys %s (check spelling and section)", path, strings.Join(keys, ", "))
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return Config{}, err
	}
	if err := cfg.readSecretFiles(); err != nil {
		return Config{}, err
	}
	if cfg.Data.CallerKeyFile == "" {
		cfg.Data.CallerKeyFile = defaultCallerKeyFile(path, environ)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// defaultCallerKeyFile is the systemd credential caller-key when the
// service passes one, else caller-key beside the configuration file ("" with
// neither).
func defaultCallerKeyFile(configPath string, environ []string) string {
	for _, kv := range environ {
		if dir, ok := strings.CutPrefix(kv, "CREDENTIALS_DIRECTORY="); ok && dir != "" {
			p := filepath.Join(dir, CallerKeyName)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if configPath == "" {
		return ""
	}
	abs, err := filepath.Abs(configPath)
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(abs), CallerKeyName)
}

func (c *Config) readSecretFiles() error {
	read := func(file string, dst *string, what string) error {
		if file == "" {
			return nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("config: %s: %w", what, err)
		}
		*dst = strings.TrimSpace(string(b))
		return nil
	}
	if err := read(c.Asterisk.ARIPasswordFile, &c.Asterisk.ARIPassword, "asterisk.ari_password_file"); err != nil {
		return err
	}
	return read(c.Trunk.PasswordFile, &c.Trunk.Password, "trunk.password_file")
}

// applyEnv sets fields from LLAMENOS_<SECTION>_<KEY> variables, where SECTION
// and KEY are the TOML names upper-cased. Lists are comma-separated.
func applyEnv(cfg *Config, environ []string) error {
	vars := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix) {
			vars[k] = v
		}
	}
	if len(vars) == 0 {
		return nil
	}
	known := map[string]bool{}
	root := reflect.ValueOf(cfg).Elem()
	for i := 0; i < root.NumField(); i++ {
		section := root.Type().Field(i).Tag.Get("toml")
		sv := root.Field(i)
		for j := 0; j < sv.NumField(); j++ {
			key := sv.Type().Field(j).Tag.Get("toml")
			name := EnvPrefix + strings.ToUpper(section+"_"+key)
			known[name] = true
			raw, ok := vars[name]
			if !ok {
				continue
			}
			if err := setField(sv.Field(j), raw); err != nil {
				return fmt.Errorf("config: %s=%q: %w", name, raw, err)
			}
		}
	}
	for name := range vars {
		if !known[name] && name != EnvPrefix+"CONFIG" {
			return fmt.Errorf("config: environment variable %s is not a known setting", name)
		}
	}
	return nil
}

func setField(f reflect.Value, raw string) error {
	switch f.Interface().(type) {
	case string:
		f.SetString(raw)
	case bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("want true or false")
		}
		f.SetBool(b)
	case int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return errors.New("want a whole number")
		}
		f.SetInt(int64(n))
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return errors.New("want a duration such as 15s or 2m")
		}
		f.SetInt(int64(d))
	case []string:
		var list []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		f.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// Validate checks the whole configuration and reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	loopback, err := hostIsLoopback(c.Server.Listen)
	if err != nil {
		bad("server.listen", "%q is not host:port (%v)", c.Server.Listen, err)
	}
	tlsFiles := c.Server.TLSCertFile != "" || c.Server.TLSKeyFile != ""
	if tlsFiles && (c.Server.TLSCertFile == "" || c.Server.TLSKeyFile == "") {
		bad("server.tls_cert_file", "tls_cert_file and tls_key_file must be set together")
	}
	if tlsFiles && len(c.Server.ACMEDomains) > 0 {
		bad("server.acme_domains", "use either certificate files or ACME, not both")
	}
	if err == nil && !loopback && !tlsFiles && len(c.Server.ACMEDomains) == 0 {
		bad("server.listen", "%q is not a loopback address, so TLS is required: set tls_cert_file and tls_key_file, or acme_domains", c.Server.Listen)
	}
	if u, perr := url.Parse(c.Server.PublicURL); perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		bad("server.public_url", "%q must be an origin such as https://hotline.example.org", c.Server.PublicURL)
	} else if net.ParseIP(u.Hostname()) != nil {
		bad("server.public_url", "%q is an IP address; passkeys need a host name (use localhost on this machine)", c.Server.PublicURL)
	} else if u.Scheme == "http" && u.Hostname() != "localhost" {
		bad("server.public_url", "%q uses http on a public name; browsers need https there", c.Server.PublicURL)
	}
	if c.Server.MetricsListen != "" {
		if lb, merr := hostIsLoopback(c.Server.MetricsListen); merr != nil || !lb {
			bad("server.metrics_listen", "%q must be a loopback host:port (metrics are not for the internet), or empty to disable", c.Server.MetricsListen)
		}
	}
	if c.Data.Dir == "" {
		bad("data.dir", "must be set")
	}
	if k := c.Data.CallerKeyFile; k != "" && c.Data.Dir != "" {
		kabs, err1 := filepath.Abs(k)
		dabs, err2 := filepath.Abs(c.Data.Dir)
		if rel, err := filepath.Rel(dabs, kabs); err1 != nil || err2 != nil || err != nil || !strings.HasPrefix(rel, "..") {
			bad("data.caller_key_file", "%q must be outside data.dir, so the database and its backups do not hold the key of caller-number hashes", k)
		}
	}

	if u, perr := url.Parse(c.Asterisk.ARIURL); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("asterisk.ari_url", "%q must look like http://127.0.0.1:8088/ari", c.Asterisk.ARIURL)
	} else if local := u.Hostname() == "localhost" || isLoopbackIP(u.Hostname()); !local {
		switch {
		case !c.Asterisk.ARIRemote:
			bad("asterisk.ari_url", "%q is not on this machine: ARI carries its password and callers' numbers, so it stays on loopback (set asterisk.ari_remote = true, with https, only for an Asterisk on another host you trust)", c.Asterisk.ARIURL)
		case u.Scheme != "https":
			bad("asterisk.ari_url", "%q reaches another host in cleartext; with ari_remote the URL must be https", c.Asterisk.ARIURL)
		}
	}
	if c.Asterisk.App == "" || strings.ContainsAny(c.Asterisk.App, ",/ ") {
		bad("asterisk.app", "%q must be a plain Stasis application name", c.Asterisk.App)
	}
	if d := c.Asterisk.SoundsDir; d != "" && !filepath.IsAbs(d) {
		bad("asterisk.sounds_dir", "%q must be an absolute path (Asterisk's sounds directory)", d)
	}
	if ip := net.ParseIP(c.Asterisk.MediaHost); ip == nil || !ip.IsLoopback() {
		bad("asterisk.media_host", "%q must be a loopback IP: the voice path stays on the box", c.Asterisk.MediaHost)
	}

	if c.Trunk.Codec != "ulaw" && c.Trunk.Codec != "alaw" {
		bad("trunk.codec", "%q must be ulaw or alaw", c.Trunk.Codec)
	}
	if c.Trunk.RTPStart < 1024 || c.Trunk.RTPEnd > 65535 || c.Trunk.RTPStart >= c.Trunk.RTPEnd {
		bad("trunk.rtp_start", "RTP range %d-%d must be within 1024-65535 and start below end", c.Trunk.RTPStart, c.Trunk.RTPEnd)
	}
	if c.Trunk.Port < 1 || c.Trunk.Port > 65535 {
		bad("trunk.port", "%d is not a port", c.Trunk.Port)
	}

	if c.RTC.UDPPort < 0 || c.RTC.UDPPort > 65535 {
		bad("rtc.udp_port", "%d is not a port", c.RTC.UDPPort)
	}
	if c.RTC.TCPPort < 0 || c.RTC.TCPPort > 65535 {
		bad("rtc.tcp_port", "%d is not a port", c.RTC.TCPPort)
	}
	for _, ip := range c.RTC.PublicIPs {
		if net.ParseIP(ip) == nil {
			bad("rtc.public_ips", "%q is not an IP address", ip)
		}
	}
	for _, ip := range c.RTC.IPs {
		if net.ParseIP(ip) == nil {
			bad("rtc.ips", "%q is not an IP address", ip)
		}
	}
	for _, u := range c.RTC.STUNURLs {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") {
			bad("rtc.stun_urls", "%q must start with stun: or stuns:", u)
		}
	}
	for _, u := range c.RTC.TURNURLs {
		if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			bad("rtc.turn_urls", "%q must start with turn: or turns:", u)
		}
	}
	static := c.RTC.TURNUsername != "" || c.RTC.TURNPassword != ""
	switch {
	case c.RTC.TURNSecret != "" && static:
		bad("rtc.turn_secret", "set either turn_secret or turn_username and turn_password, not both")
	case c.RTC.TURNSecret != "" && len(c.RTC.TURNSecret) < 16:
		bad("rtc.turn_secret", "must be at least 16 characters (use a long random string)")
	case len(c.RTC.TURNURLs) > 0 && c.RTC.TURNSecret == "" && (c.RTC.TURNUsername == "" || c.RTC.TURNPassword == ""):
		bad("rtc.turn_urls", "TURN servers need turn_secret (time-limited credentials), or turn_username and turn_password")
	}
	if c.RTC.BrowserGrace < time.Second || c.RTC.BrowserGrace > 5*time.Minute {
		bad("rtc.browser_grace", "%s must be between 1s and 5m", c.RTC.BrowserGrace)
	}
	if c.Transcription.Threads < 1 || c.Transcription.Threads > 64 {
		bad("transcription.threads", "%d must be between 1 and 64", c.Transcription.Threads)
	}
	if c.Limits.MaxCalls < 1 || c.Limits.MaxCalls > 10000 {
		bad("limits.max_calls", "%d must be between 1 and 10000", c.Limits.MaxCalls)
	}
	if c.Limits.MaxSockets < 1 || c.Limits.MaxSockets > 4096 {
		bad("limits.max_sockets", "%d must be between 1 and 4096 (the server's connection cap)", c.Limits.MaxSockets)
	}
	if c.Limits.MaxSocketsPerAccount < 1 || c.Limits.MaxSocketsPerAccount > c.Limits.MaxSockets {
		bad("limits.max_sockets_per_account", "%d must be between 1 and limits.max_sockets (%d)", c.Limits.MaxSocketsPerAccount, c.Limits.MaxSockets)
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q must be debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q must be text or json", c.Log.Format)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("config: %w", errors.Join(errs...))
}

// PlainHTTP reports whether the daemon serves without TLS (loopback only).
func (c Config) PlainHTTP() bool {
	return c.Server.TLSCertFile == "" && len(c.Server.ACMEDomains) == 0
}

func hostIsLoopback(hostport string) (bool, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return false, err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return false, fmt.Errorf("bad port %q", port)
	}
	return host == "localhost" || isLoopbackIP(host), nil
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
