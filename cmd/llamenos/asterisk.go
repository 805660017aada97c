package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	asteriskconfig "llamenos/asterisk-config"
	"llamenos/config"
	"llamenos/sounds"
)

func runAsteriskConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("asterisk-config", stderr)
	cfgPath := fs.String("config", "", "daemon configuration file (TOML)")
	out := fs.String("out", "", "write the files into this directory (e.g. /etc/asterisk) instead of printing them")
	soundsDir := fs.String("sounds", "", "with -out, install the caller prompts into this sounds directory (default asterisk.sounds_dir; \"none\" skips them)")
	soundsGroup := fs.String("sounds-group", "asterisk", "give the prompts' directories and files to this group, whose members (the daemon's unit joins it) may replace them; \"\" leaves them as they are")
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
		if *soundsGroup != "" {
			if err := chgrpPrompts(*soundsDir, *soundsGroup); err != nil {
				return fmt.Errorf("asterisk-config: %w", err)
			}
		}
		fmt.Fprintf(stdout, "caller prompts are in %s/<lang>/%s/\n", *soundsDir, sounds.Dir)
		return nil
	}
	for _, f := range files {
		fmt.Fprintf(stdout, ";; ==> %s <==\n%s\n", f.Name, f.Body)
	}
	return nil
}

// chgrpPrompts gives every shipped language's prompt directory, and the
// files in it, to group, so the daemon (a member) can write admins'
// recordings there; the directories are setgid, so new files keep it.
func chgrpPrompts(dir, group string) error {
	g, err := user.LookupGroup(group)
	if err != nil {
		return fmt.Errorf("-sounds-group %s: %w (create it, or give -sounds-group \"\")", group, err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return fmt.Errorf("-sounds-group %s: gid %q", group, g.Gid)
	}
	for _, lang := range sounds.Languages() {
		sub := filepath.Join(dir, lang, sounds.Dir)
		entries, err := os.ReadDir(sub)
		if err != nil {
			return err
		}
		paths := []string{sub}
		for _, e := range entries {
			paths = append(paths, filepath.Join(sub, e.Name()))
		}
		for _, p := range paths {
			if err := os.Lchown(p, -1, gid); err != nil {
				return fmt.Errorf("give %s to group %s: %w", p, group, err)
			}
		}
	}
	return nil
}
