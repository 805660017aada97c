package rtc

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"llamenos/leakcheck"
	"llamenos/rtc/rtctest"
)

func TestConfigValidation(t *testing.T) {
	leakcheck.Check(t)
	cases := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" means valid
	}{
		{"defaults", Config{}, ""},
		{"media host name", Config{MediaHost: "localhost"}, "media host"},
		{"udp port", Config{UDPPort: 70000}, "udp_port"},
		{"tcp port", Config{TCPPort: -1}, "tcp_port"},
		{"public ip", Config{PublicIPs: []string{"example.org"}}, "public IP"},
		{"candidate ip", Config{IPs: []string{"10.0.0"}}, "candidate IP"},
		{"no url", Config{ICEServers: []ICEServer{{}}}, "no URL"},
		{"bad url", Config{ICEServers: []ICEServer{{URLs: []string{"http://stun.example.org"}}}}, "ICE server URL"},
		{"turn without credentials", Config{ICEServers: []ICEServer{{URLs: []string{"turn:turn.example.org:3478"}}}}, "username and a credential"},
		{"stun and turn", Config{ICEServers: []ICEServer{
			{URLs: []string{"stun:stun.example.org:3478"}},
			{URLs: []string{"turn:turn.example.org:3478?transport=tcp"}, Username: "u", Credential: "p"},
		}}, ""},
		{"negative timeout", Config{FailedTimeout: -time.Second}, "negative"},
		{"mux with no address", Config{UDPPort: 1, IPs: []string{"192.0.2.1"}}, "no local address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Logger = quietLog
			e, err := NewEngine(c.cfg)
			if c.want == "" {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				e.Close()
				return
			}
			if err == nil {
				e.Close()
				t.Fatalf("accepted, want an error about %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestICEServersForBrowser(t *testing.T) {
	e := testEngine(t, func(c *Config) {
		c.ICEServers = []ICEServer{
			{URLs: []string{"stun:stun.example.org:3478"}},
			{URLs: []string{"turn:turn.example.org:3478"}, Username: "u", Credential: "p"},
		}
	})
	got := e.ICEServers()
	got[0].URLs[0] = "changed"
	b, err := json.Marshal(e.ICEServers())
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"urls":["stun:stun.example.org:3478"]},{"urls":["turn:turn.example.org:3478"],"username":"u","credential":"p"}]`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}

// freePort finds a port free for both UDP and TCP on loopback.
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 20; i++ {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// TestMuxedPorts: with UDPPort and TCPPort every call uses those two
// ports, a browser that can only do TCP still connects (ICE-TCP fallback),
// and Close hands the ports back.
func TestMuxedPorts(t *testing.T) {
	leakcheck.Check(t)
	port := freePort(t)
	e, err := NewEngine(Config{
		UDPPort: port, TCPPort: port, IncludeLoopback: true, IPs: []string{"127.0.0.1"},
		PublicIPs: []string{"203.0.113.7"}, Logger: quietLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	var answers []string
	for i, networks := range [][]webrtc.NetworkType{{webrtc.NetworkTypeUDP4}, {webrtc.NetworkTypeTCP4}} {
		r, err := e.NewRelay(fmt.Sprint("mux", i))
		if err != nil {
			t.Fatal(err)
		}
		ast := newFakeAsterisk(t, r.LocalAddr())
		if err := r.SetRemote(ast.addr()); err != nil {
			t.Fatal(err)
		}
		// With interceptors, as a real browser sends RTCP.
		b := rtctest.MustNew(t, rtctest.Options{Interceptors: true, Networks: networks})

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ans, err := r.HandleOffer(ctx, offer(t, b))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, ans)
		answer(t, b, ans, 15*time.Second)
		talk(t, ast, b, sine(440), sine(1000), 5)
		rtctest.WaitFor(t, 2*time.Second, fmt.Sprintf("audio over %v", networks), func() bool {
			return len(b.Received()) >= 4 && len(ast.received()) >= 4
		})
		pair, err := b.PC().GetSenders()[0].Transport().ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil {
			t.Fatalf("no selected pair: %v", err)
		}
		if pair.Remote.Port != uint16(port) {
			t.Errorf("browser talks to port %d, want the muxed port %d", pair.Remote.Port, port)
		}
		if i == 1 && pair.Remote.Protocol != webrtc.ICEProtocolTCP {
			t.Errorf("TCP-only browser connected over %s", pair.Remote.Protocol)
		}
		r.Close()
		b.Close()
	}
	for _, want := range []string{
		fmt.Sprintf("127.0.0.1 %d typ host", port),
		fmt.Sprintf("203.0.113.7 %d typ host", port),
		"tcptype passive",
	} {
		if !strings.Contains(strings.Join(answers, ""), want) {
			t.Errorf("answers lack candidate %q:\n%s", want, answers[0])
		}
	}

	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatalf("UDP port still held after Close: %v", err)
	}
	u.Close()
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("TCP port still held after Close: %v", err)
	}
	l.Close()
}

// TestAnswerOmitsTransportCC: a browser offering transport-wide congestion
// control gets an answer without it, so it neither stamps the extension
// nor expects feedback for a fixed-rate audio stream.
func TestAnswerOmitsTransportCC(t *testing.T) {
	r := testRelay(t, "twcc")
	b := rtctest.MustNew(t, rtctest.Options{Interceptors: true})
	sdp := offer(t, b)
	if !strings.Contains(sdp, "transport-wide-cc") {
		t.Fatal("test browser does not offer transport-cc; the test proves nothing")
	}
	ans, err := r.HandleOffer(context.Background(), sdp)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ans, "transport-wide-cc") || strings.Contains(ans, "transport-cc") {
		t.Errorf("answer accepts transport-cc:\n%s", ans)
	}
	answer(t, b, ans, 10*time.Second)
}

func TestBridgesAreNotOffered(t *testing.T) {
	for name, want := range map[string]bool{
		"eth0": true, "enp3s0": true, "wlan0": true, "wg0": true, "tun0": true, "bond0": true,
		"docker0": false, "br-3f2a9c": false, "veth12ab": false, "virbr0": false, "vnet3": false,
		"lxdbr0": false, "podman1": false, "cni0": false, "flannel.1": false, "cali1234": false,
	} {
		if got := offerInterface(name); got != want {
			t.Errorf("offerInterface(%q) = %v, want %v", name, got, want)
		}
	}
}
