package ari

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantType string
		wantKeys []Key
		wantErr  bool
	}{
		{"stasis start", `{"type":"StasisStart","application":"a","timestamp":"2025-03-04T05:06:07.890+0100","args":["x"],"channel":{"id":"c1","name":"PJSIP/t-1","state":"Ring","caller":{"name":"","number":"+1"},"dialplan":{"exten":"+2"}}}`,
			"StasisStart", []Key{"channel:c1"}, false},
		{"replace channel", `{"type":"StasisStart","channel":{"id":"c1"},"replace_channel":{"id":"c0"}}`, "StasisStart", []Key{"channel:c1", "channel:c0"}, false},
		{"entered bridge", `{"type":"ChannelEnteredBridge","bridge":{"id":"b1","channels":["c1"]},"channel":{"id":"c1"}}`, "ChannelEnteredBridge", []Key{"channel:c1", "bridge:b1"}, false},
		{"entered bridge without channel", `{"type":"ChannelEnteredBridge","bridge":{"id":"b1"}}`, "ChannelEnteredBridge", []Key{"bridge:b1"}, false},
		{"playback on channel", `{"type":"PlaybackStarted","playback":{"id":"p1","target_uri":"channel:c1","state":"playing"}}`, "PlaybackStarted", []Key{"playback:p1", "channel:c1"}, false},
		{"playback on bridge", `{"type":"PlaybackFinished","playback":{"id":"p1","target_uri":"bridge:b1","state":"done"}}`, "PlaybackFinished", []Key{"playback:p1", "bridge:b1"}, false},
		{"dial with empty caller", `{"type":"Dial","peer":{"id":"c2"},"caller":{"id":""},"dialstatus":"RINGING"}`, "Dial", []Key{"channel:c2"}, false},
		{"recording", `{"type":"RecordingFinished","recording":{"name":"r1","target_uri":"bridge:b1","state":"done"}}`, "RecordingFinished", []Key{"recording:r1", "bridge:b1"}, false},
		{"destroyed", `{"type":"ChannelDestroyed","cause":16,"cause_txt":"Normal Clearing","channel":{"id":"c1"}}`, "ChannelDestroyed", []Key{"channel:c1"}, false},
		{"hangup request", `{"type":"ChannelHangupRequest","cause":32,"soft":true,"channel":{"id":"c1"}}`, "ChannelHangupRequest", []Key{"channel:c1"}, false},
		{"varset global", `{"type":"ChannelVarset","variable":"X","value":"1"}`, "ChannelVarset", nil, false},
		{"no channel id", `{"type":"StasisEnd","channel":{}}`, "StasisEnd", nil, false},
		{"replaced", `{"type":"ApplicationReplaced","application":"a"}`, "ApplicationReplaced", nil, false},
		{"unknown type", `{"type":"DeviceStateChanged","device_state":{}}`, "DeviceStateChanged", nil, false},
		{"bad timestamp kept zero", `{"type":"StasisEnd","timestamp":"yesterday","channel":{"id":"c1"}}`, "StasisEnd", []Key{"channel:c1"}, false},
		{"not json", `{"type":`, "", nil, true},
		{"array", `[1,2]`, "", nil, true},
		{"no type", `{"channel":{"id":"c1"}}`, "", nil, true},
		{"empty type", `{"type":""}`, "", nil, true},
		{"type not string", `{"type":5}`, "", nil, true},
		{"wrong field shape", `{"type":"ChannelDestroyed","cause":"sixteen","channel":{"id":"c1"}}`, "", nil, true},
		{"null", `null`, "", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tc.in))
			if tc.wantErr {
				if err == nil || !errors.Is(err, ErrMalformedEvent) {
					t.Fatalf("err = %v, want ErrMalformedEvent", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Base().Type != tc.wantType {
				t.Errorf("type %q, want %q", ev.Base().Type, tc.wantType)
			}
			if got := ev.Keys(); !slices.Equal(got, tc.wantKeys) {
				t.Errorf("keys %v, want %v", got, tc.wantKeys)
			}
		})
	}
}

func TestTimeFormats(t *testing.T) {
	for _, in := range []string{`"2025-03-04T05:06:07.890+0100"`, `"2025-03-04T04:06:07.89Z"`, `"2025-03-04T05:06:07.890+01:00"`} {
		var tm Time
		if err := tm.UnmarshalJSON([]byte(in)); err != nil {
			t.Fatal(err)
		}
		want := time.Date(2025, 3, 4, 4, 6, 7, 890e6, time.UTC)
		if !tm.Equal(want) {
			t.Errorf("%s parsed as %v", in, tm.Time)
		}
	}
	b, _ := Time{time.Date(2025, 3, 4, 4, 6, 7, 890e6, time.UTC)}.MarshalJSON()
	if string(b) != `"2025-03-04T04:06:07.890+0000"` {
		t.Errorf("marshal: %s", b)
	}
}

func TestUnicastRTPAddr(t *testing.T) {
	ok := Channel{ID: "m", ChannelVars: map[string]string{VarUnicastRTPLocalAddress: "127.0.0.1", VarUnicastRTPLocalPort: "10002"}}
	if ap, err := ok.UnicastRTPAddr(); err != nil || ap.String() != "127.0.0.1:10002" {
		t.Fatalf("got %v, %v", ap, err)
	}
	for _, vars := range []map[string]string{
		nil,
		{VarUnicastRTPLocalAddress: "127.0.0.1"},
		{VarUnicastRTPLocalAddress: "localhost", VarUnicastRTPLocalPort: "1"},
		{VarUnicastRTPLocalAddress: "127.0.0.1", VarUnicastRTPLocalPort: "0"},
		{VarUnicastRTPLocalAddress: "127.0.0.1", VarUnicastRTPLocalPort: "70000"},
	} {
		c := Channel{ID: "m", ChannelVars: vars}
		if _, err := c.UnicastRTPAddr(); err == nil {
			t.Errorf("%v accepted", vars)
		}
	}
}

func TestErrorHelpers(t *testing.T) {
	err := error(&Error{Status: 404, Message: "Channel not found", Method: "DELETE", Path: "/channels/x"})
	wrapped := errors.Join(errors.New("teardown"), err)
	if !IsNotFound(wrapped) || StatusOf(wrapped) != 404 || StatusOf(errors.New("x")) != 0 {
		t.Fatal("status helpers")
	}
	if got := err.Error(); got != "ari: DELETE /channels/x: 404 Channel not found" {
		t.Errorf("Error() = %q", got)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{URL: "http://127.0.0.1:8088/ari", Username: "u"},
		{URL: "http://127.0.0.1:8088/ari", Username: "u", App: "a,b"},
		{URL: "ftp://x/ari", Username: "u", App: "a"},
		{URL: "127.0.0.1:8088", Username: "u", App: "a"},
	} {
		if c, err := New(cfg); err == nil {
			c.Close()
			t.Errorf("%+v accepted", cfg)
		}
	}
	c, err := New(Config{URL: "https://127.0.0.1:8089/ari/", Username: "u", App: "hot line"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.wsURL != "wss://127.0.0.1:8089/ari/events?app=hot+line&subscribeAll=false" {
		t.Errorf("ws URL %s", c.wsURL)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"type":"StasisStart","args":[],"channel":{"id":"1","caller":{"number":"+1"}}}`))
	f.Add([]byte(`{"type":"PlaybackFinished","playback":{"id":"p","target_uri":"bridge:b"}}`))
	f.Add([]byte(`{"type":"Dial","peer":{"id":"a"},"caller":null,"forwarded":{"id":""}}`))
	f.Add([]byte(`{"type":"Unknown"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeEvent(data)
		if err != nil {
			if ev != nil || !errors.Is(err, ErrMalformedEvent) {
				t.Fatalf("error %v with event %v", err, ev)
			}
			return
		}
		if ev.Base().Type == "" {
			t.Fatal("decoded an event without a type")
		}
		for _, k := range ev.Keys() {
			if k.ID() == "" || k.Kind() == "" {
				t.Fatalf("empty key %q from %s", k, data)
			}
		}
	})
}
