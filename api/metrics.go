package api

import (
	"fmt"
	"net/http"

	"llamenos/buildinfo"
)

// MetricsHandler serves Prometheus text-format metrics at /metrics, and at
// /api/health the daemon's version and whether Asterisk is connected. The
// daemon mounts it on server.metrics_listen, which config validation keeps
// on loopback: the numbers say when the hotline is busy and what it runs,
// which is not public information.
func (s *Server) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/health" {
			s.healthDetails(w)
			return
		}
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		ringing, connected := 0, 0
		for _, c := range s.Calls.Active() {
			if c.State == "connected" {
				connected++
			} else {
				ringing++
			}
		}
		ari := 0
		if s.ARIConnected() {
			ari = 1
		}
		info := buildinfo.Get()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		fmt.Fprintf(w, "# HELP llamenos_build_info Version of the running daemon.\n# TYPE llamenos_build_info gauge\n")
		fmt.Fprintf(w, "llamenos_build_info{version=%q,commit=%q,go=%q} 1\n", info.Version, info.Commit, info.GoVersion)
		fmt.Fprintf(w, "# HELP llamenos_ari_connected Whether the ARI events socket to Asterisk is up.\n# TYPE llamenos_ari_connected gauge\nllamenos_ari_connected %d\n", ari)
		fmt.Fprintf(w, "# HELP llamenos_calls Live calls by state.\n# TYPE llamenos_calls gauge\n")
		fmt.Fprintf(w, "llamenos_calls{state=\"waiting\"} %d\nllamenos_calls{state=\"connected\"} %d\n", ringing, connected)
		fmt.Fprintf(w, "# HELP llamenos_browser_sockets Open browser WebSockets.\n# TYPE llamenos_browser_sockets gauge\nllamenos_browser_sockets %d\n", s.Hub.count())
		fmt.Fprintf(w, "# HELP llamenos_calls_refused_total Callers turned away because limits.max_calls calls were live.\n# TYPE llamenos_calls_refused_total counter\nllamenos_calls_refused_total %d\n", s.CallsRefused())
		fmt.Fprintf(w, "# HELP llamenos_browser_sockets_refused_total Browser WebSockets refused at a limit (limits.max_sockets_per_account, limits.max_sockets).\n# TYPE llamenos_browser_sockets_refused_total counter\n")
		fmt.Fprintf(w, "llamenos_browser_sockets_refused_total{limit=\"account\"} %d\nllamenos_browser_sockets_refused_total{limit=\"total\"} %d\n", s.Hub.refusedAccount.Load(), s.Hub.refusedTotal.Load())
		fmt.Fprintf(w, "# HELP llamenos_browser_sockets_slow_closed_total Browser WebSockets closed because they stopped reading and their send queue filled.\n# TYPE llamenos_browser_sockets_slow_closed_total counter\nllamenos_browser_sockets_slow_closed_total %d\n", s.Hub.slowClosed.Load())
		if s.CallMetrics != nil {
			s.CallMetrics.Write(w)
		}
	})
}
