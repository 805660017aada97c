package main

import (
	"context"
	"fmt"
	"io"
	"os"

	asteriskconfig "llamenos/asterisk-config"
	"llamenos/config"
	"llamenos/sounds"
)

func runAsteriskConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("asterisk-config", stderr)
	cfgPath := fs.String("config", "", "daemon configuration file (TOML)")
	out := fs.String("out", "", "write the files into this directory (e.g. /etc/asterisk) instead of printing them")
	soundsDir := fs.String("sounds", "", "with -out, install the caller prompts into this sounds directory (default asterisk.sounds_dir; \"none\" skips them)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, os.Environ())
	if err != nil {
		return err
	}
	if *soundsDir == "" {
		*soundsDir = cfg.Asterisk.SoundsDir
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
		if *soundsDir == "none" || *soundsDir == "" {
			return nil
		}
		// Group-writable and setgid, so a daemon in the directory's group
		// can write admins' recordings there; an admin's recording already
		// there is kept.
		written, err := sounds.Install(*soundsDir, os.ModeSetgid|0o775, 0o664, false)
		for _, p := range written {
			fmt.Fprintf(stdout, "wrote %s\n", p)
		}
		if err != nil {
			return fmt.Errorf("asterisk-config: install the caller prompts: %w", err)
		}
		fmt.Fprintf(stdout, "caller prompts are in %s/<lang>/%s/\n", *soundsDir, sounds.Dir)
		return nil
	}
	for _, f := range files {
		fmt.Fprintf(stdout, ";; ==> %s <==\n%s\n", f.Name, f.Body)
	}
	return nil
}
