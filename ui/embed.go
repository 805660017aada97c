// Package ui embeds the browser app built by `make ui` (esbuild output in dist/).
package ui

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// FS returns the built app: index.html, app.js, app.css and assets.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub only fails on an invalid path; "dist" is a constant.
		panic(err)
	}
	return sub
}

// Built reports whether the bundle is present (a plain `go build` without
// `make ui` embeds only the README placeholder).
func Built() bool {
	_, err := fs.Stat(FS(), "index.html")
	return err == nil
}
