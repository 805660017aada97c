package main

import (
	"context"
	"fmt"
	"io"
	"os"

	asteriskconfig "llamenos/asterisk-config"
	"llamenos/config"
)

func runAsteriskConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("asterisk-config", stderr)
	cfgPath := fs.String("config", "", "daemon configuration file (TOML)")
	out := fs.String("out", "", "write the files into this directory (e.g. /etc/asterisk) instead of printing them")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, os.Environ())
	if err != nil {
		return err
	}
	files, err := asteriskconfig.Render(cfg)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := asteriskconfig.WriteDir(*out, files); err != nil {
			return err
		}
		for _, f := range files {
			fmt.Fprintf(stdout, "wrote %s/%s\n", *out, f.Name)
		}
		return nil
	}
	for _, f := range files {
		fmt.Fprintf(stdout, ";; ==> %s <==\n%s\n", f.Name, f.Body)
	}
	return nil
}
