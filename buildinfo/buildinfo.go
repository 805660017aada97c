// Package buildinfo reports what binary is running: the release version and
// the commit it was built from, stamped by the Makefile with -ldflags -X.
package buildinfo

import "runtime"

// Set at link time (see Makefile). Defaults describe an unstamped `go build`.
var (
	Version = "dev"
	Commit  = "unknown"
)

// Info is what `llamenos version` prints and /api/health reports.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go"`
}

// Get returns the build information of the running binary.
func Get() Info {
	return Info{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
}

// String renders the one-line form used by `llamenos version`.
func (i Info) String() string {
	return "llamenos " + i.Version + " (commit " + i.Commit + ", " + i.GoVersion + ")"
}
