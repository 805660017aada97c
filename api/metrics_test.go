package api

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetrics(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	c, err := dialWS(t, e, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ts := httptest.NewServer(e.srv.MetricsHandler())
	defer ts.Close()
	var body string
	for i := 0; i < 50; i++ { // the socket registers with the hub just after the handshake
		res, err := ts.Client().Get(ts.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if body = string(b); strings.Contains(body, "llamenos_browser_sockets 1") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{`llamenos_build_info{version="dev"`, "llamenos_ari_connected 0", `llamenos_calls{state="waiting"} 0`, "llamenos_browser_sockets 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	res, err := ts.Client().Get(ts.URL + "/other")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("unknown metrics path: %d", res.StatusCode)
	}
}
