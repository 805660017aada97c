package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"llamenos/config"
	"llamenos/control"
	"llamenos/store"
)

// defaultConfigPath is read when present and no --config is given, so the
// admin commands find the same data directory as the systemd service.
const defaultConfigPath = "/etc/llamenos/llamenos.toml"

// dataPaths are where a data command finds the database and the caller key.
type dataPaths struct {
	dir     string
	keyFile string // "" with --data and no --caller-key
}

// dataCommand parses `llamenos NAME [--config FILE | --data DIR] [FILE]`
// and returns the data directory and, when file is true, the file argument.
func dataCommand(name string, args []string, stderr io.Writer, file bool) (paths dataPaths, arg string, err error) {
	fs := newFlags(name, stderr)
	cfgPath := fs.String("config", "", "daemon configuration file (default "+defaultConfigPath+" if it exists)")
	dataDir := fs.String("data", "", "data directory (overrides the configuration)")
	keyFile := fs.String("caller-key", "", "caller-key file (overrides the configuration; restore moves an old backup's caller-number secret there)")
	want := 0
	if file {
		want = 1
		fs.Usage = func() {
			fmt.Fprintf(stderr, "usage: llamenos %s [--config FILE | --data DIR] BACKUP-FILE\n", name)
			fs.PrintDefaults()
		}
	}
	if err := parseFlags(fs, args, want); err != nil {
		return dataPaths{}, "", err
	}
	if paths, err = resolveDataDir(*cfgPath, *dataDir); err != nil {
		return dataPaths{}, "", err
	}
	if *keyFile != "" {
		paths.keyFile = *keyFile
	}
	return paths, fs.Arg(0), nil
}

func resolveDataDir(cfgPath, dataDir string) (dataPaths, error) {
	if dataDir != "" {
		return dataPaths{dir: dataDir}, nil
	}
	if cfgPath == "" {
		if _, err := os.Stat(defaultConfigPath); err == nil {
			cfgPath = defaultConfigPath
		}
	}
	cfg, err := config.Load(cfgPath, os.Environ())
	if err != nil {
		return dataPaths{}, err
	}
	return dataPaths{dir: cfg.Data.Dir, keyFile: cfg.Data.CallerKeyFile}, nil
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	paths, dst, err := dataCommand("backup", args, stderr, true)
	if err != nil {
		return err
	}
	dir := paths.dir // the backup is the database only: never the caller key
	var res store.BackupResult
	if c, err := control.Dial(control.SocketPath(dir)); err == nil {
		// The daemon holds the database: it streams a consistent copy.
		res, err = c.Backup(ctx, dst)
		if err != nil {
			return err
		}
	} else {
		st, err := store.Open(ctx, filepath.Join(dir, store.DefaultFileName), store.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		defer st.Close()
		if res, err = st.BackupFile(ctx, dst); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "backup written: %s\n  bytes: %d\n  sha256: %s\n  audit head: %s\n", res.Path, res.Bytes, res.SHA256, res.Report.AuditHead)
	return nil
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	paths, src, err := dataCommand("restore", args, stderr, true)
	if err != nil {
		return err
	}
	res, err := store.Restore(ctx, src, filepath.Join(paths.dir, store.DefaultFileName), paths.keyFile)
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w\nstop the daemon first (systemctl stop llamenos), restore, then start it again", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s\n", src)
	if res.Previous != "" {
		fmt.Fprintf(stdout, "  the replaced database is kept as %s; delete it once the restored data looks right\n", res.Previous)
	}
	return nil
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	paths, _, err := dataCommand("check", args, stderr, false)
	dir := paths.dir
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "configuration: ok")
	var rep store.VerifyReport
	if c, err := control.Dial(control.SocketPath(dir)); err == nil {
		rep, err = c.Check(ctx)
		if err != nil {
			return err
		}
	} else {
		path := filepath.Join(dir, store.DefaultFileName)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stdout, "database: none yet at %s (created at first start)\n", path)
			return nil
		}
		if rep, err = store.VerifyFile(ctx, path); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "database: ok (schema v%d, %d bytes, audit head %s)\n", rep.Schema, rep.Size, rep.AuditHead)
	return nil
}
