package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"llamenos/config"
	"llamenos/control"
	"llamenos/store"
)

// defaultConfigPath is read when present and no --config is given, so the
// admin commands find the same data directory as the systemd service.
const defaultConfigPath = "/etc/llamenos/llamenos.toml"

// location is where an admin command found the data directory, and what
// it read to get there, so its output can say so.
type location struct {
	dir string
	// config is the configuration file read, "" when none was.
	config string
	// source says in words where dir came from.
	source string
	// keyFile is the caller-key file: "" with --data and no --caller-key.
	keyFile string
}

// dataCommand parses `llamenos NAME [--config FILE | --data DIR] [FILE]`
// and returns the data directory and, when file is true, the file argument.
// extra, if not nil, adds the command's own flags.
func dataCommand(name string, args []string, stderr io.Writer, file bool, extra func(*flag.FlagSet)) (loc location, arg string, err error) {
	fs := newFlags(name, stderr)
	if extra != nil {
		extra(fs)
	}
	cfgPath := fs.String("config", "", "daemon configuration file (default "+defaultConfigPath+" if it exists)")
	dataDir := fs.String("data", "", "data directory (overrides the configuration)")
	keyFile := fs.String("caller-key", "", "caller-key file (overrides the configuration; restore moves an old backup's caller-number secret there)")
	want := 0
	usageLine := fmt.Sprintf("usage: llamenos %s [--config FILE | --data DIR]", name)
	switch name {
	case "backup":
		usageLine += " (--passphrase-file FILE | --plaintext)"
	case "restore":
		usageLine += " [--passphrase-file FILE]"
	}
	if file {
		want = 1
		usageLine += " BACKUP-FILE"
	}
	fs.Usage = func() {
		fmt.Fprintln(stderr, usageLine)
		fmt.Fprintln(stderr, "\nThe data directory is, in this order: --data; data.dir of --config FILE;")
		fmt.Fprintf(stderr, "that of %s when it exists (LLAMENOS_DATA_DIR overrides both);\n", defaultConfigPath)
		fmt.Fprintln(stderr, "the demo running now for this user (`llamenos demo` says where it is);")
		fmt.Fprintln(stderr, "else the built-in default. While a daemon runs, the work goes through its control socket.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, want); err != nil {
		return location{}, "", err
	}
	if loc, err = resolveDataDir(*cfgPath, *dataDir, os.Environ()); err != nil {
		return location{}, "", err
	}
	if *keyFile != "" {
		loc.keyFile = *keyFile
	}
	return loc, fs.Arg(0), nil
}

func resolveDataDir(cfgPath, dataDir string, environ []string) (location, error) {
	if dataDir != "" {
		return location{dir: dataDir, source: "--data"}, nil
	}
	defaulted := false
	if cfgPath == "" {
		if _, err := os.Stat(defaultConfigPath); err == nil {
			cfgPath = defaultConfigPath
		} else {
			defaulted = true
		}
	}
	cfg, err := config.Load(cfgPath, environ)
	if err != nil {
		return location{}, err
	}
	envDir := slices.ContainsFunc(environ, func(kv string) bool { return strings.HasPrefix(kv, config.EnvPrefix+"DATA_DIR=") })
	switch {
	case envDir:
		return location{dir: cfg.Data.Dir, config: cfgPath, source: config.EnvPrefix + "DATA_DIR", keyFile: cfg.Data.CallerKeyFile}, nil
	case !defaulted:
		return location{dir: cfg.Data.Dir, config: cfgPath, source: "data.dir of " + cfgPath, keyFile: cfg.Data.CallerKeyFile}, nil
	}
	if dir, from, ok := control.Announced(); ok {
		return location{dir: dir, source: "the demo running now (named in " + from + ")"}, nil
	}
	return location{dir: cfg.Data.Dir, source: fmt.Sprintf("the built-in default: no --config, no %s, no demo running", defaultConfigPath), keyFile: cfg.Data.CallerKeyFile}, nil
}

// describe is the line that says what a command read to find its data.
func (l location) describe() string {
	return fmt.Sprintf("data directory: %s (from %s)", l.dir, l.source)
}

// noDatabase explains a data directory without a database and how to name
// the right one.
func (l location) noDatabase(path string) error {
	return fmt.Errorf("no database at %s\n  the data directory came from %s\n  name the right one with --config FILE or --data DIR (a demo prints its data directory when it starts)", path, l.source)
}

// passphraseFlag is --passphrase-file: the passphrase of an encrypted
// backup, read from a file ("-": standard input), never from the command
// line, where other users could read it.
func passphraseFlag(fs *flag.FlagSet) *string {
	return fs.String("passphrase-file", "", "file holding the backup passphrase (at least 12 characters; one trailing newline is ignored); - reads standard input")
}

// maxPassphraseFile bounds what is read as a passphrase.
const maxPassphraseFile = 4096

func readPassphrase(path string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		if fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("passphrase file %s is readable by other users (mode %v): chmod 600 it", path, fi.Mode().Perm())
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPassphraseFile+1))
	if err != nil {
		return nil, fmt.Errorf("passphrase: %w", err)
	}
	if len(b) > maxPassphraseFile {
		return nil, fmt.Errorf("passphrase: longer than %d bytes", maxPassphraseFile)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return nil, errors.New("passphrase: empty")
	}
	return b, nil
}

// stdin is where --passphrase-file - reads; tests replace it.
var stdin io.Reader = os.Stdin

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var passFile *string
	var plaintext *bool
	loc, dst, err := dataCommand("backup", args, stderr, true, func(fs *flag.FlagSet) {
		passFile = passphraseFlag(fs)
		plaintext = fs.Bool("plaintext", false, "write an unencrypted backup (envelopes and hashes only, but call metadata in clear)")
	})
	if err != nil {
		return err
	}
	switch {
	case *passFile == "" && !*plaintext:
		return fmt.Errorf("%w: backups are encrypted: give --passphrase-file FILE (- for standard input), or --plaintext for an unencrypted one", errUsage)
	case *passFile != "" && *plaintext:
		return fmt.Errorf("%w: --passphrase-file and --plaintext exclude each other", errUsage)
	}
	var key *store.BackupKey
	if *passFile != "" {
		pass, err := readPassphrase(*passFile, stdin)
		if err != nil {
			return err
		}
		key, err = store.NewBackupKey(pass)
		clear(pass)
		if err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, loc.describe())
	// The backup is the database only: never the caller key.
	var copyDB func(io.Writer) (int64, error)
	sock := control.SocketPath(loc.dir)
	if c, err := control.Dial(sock); err == nil {
		// The daemon holds the database: it streams a consistent copy.
		fmt.Fprintf(stdout, "the daemon is running: backing up through its control socket %s\n", sock)
		copyDB = func(w io.Writer) (int64, error) { return c.Copy(ctx, w) }
	} else {
		path := filepath.Join(loc.dir, store.DefaultFileName)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return loc.noDatabase(path)
		}
		fmt.Fprintf(stdout, "no daemon answers on %s: reading %s\n", sock, path)
		st, err := store.Open(ctx, path, store.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		defer st.Close()
		copyDB = func(w io.Writer) (int64, error) { return st.Backup(ctx, w) }
	}
	var res store.BackupResult
	if key != nil {
		res, err = store.WriteSealedBackupFile(ctx, dst, loc.dir, key, copyDB)
	} else {
		res, err = store.WriteBackupFile(ctx, dst, copyDB)
	}
	if err != nil {
		return err
	}
	kind := "unencrypted (--plaintext)"
	if res.Encrypted {
		kind = "encrypted with the passphrase (Argon2id, XChaCha20-Poly1305)"
	}
	fmt.Fprintf(stdout, "backup written: %s\n  %s\n  bytes: %d\n  sha256: %s\n  audit head: %s\n", res.Path, kind, res.Bytes, res.SHA256, res.Report.AuditHead)
	return nil
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var passFile *string
	loc, src, err := dataCommand("restore", args, stderr, true, func(fs *flag.FlagSet) { passFile = passphraseFlag(fs) })
	if err != nil {
		return err
	}
	var pass []byte
	if *passFile != "" {
		if pass, err = readPassphrase(*passFile, stdin); err != nil {
			return err
		}
		defer clear(pass)
	}
	fmt.Fprintln(stdout, loc.describe())
	res, err := store.RestoreSealed(ctx, src, filepath.Join(loc.dir, store.DefaultFileName), loc.keyFile, pass)
	switch {
	case errors.Is(err, store.ErrLocked):
		return fmt.Errorf("%w\nstop the daemon first (systemctl stop llamenos), restore, then start it again", err)
	case errors.Is(err, store.ErrBackupNeedsPassphrase):
		return fmt.Errorf("%w: %s is encrypted; give its passphrase with --passphrase-file FILE (- for standard input)", errUsage, src)
	case errors.Is(err, store.ErrBackupPassphrase), errors.Is(err, store.ErrBackupTruncated), errors.Is(err, store.ErrBackupDamaged), errors.Is(err, store.ErrBackupFormat):
		return fmt.Errorf("%w\nnothing was changed in %s", err, loc.dir)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "restored %s\n", src)
	if res.Previous != "" {
		fmt.Fprintf(stdout, "  the replaced database is kept as %s; delete it once the restored data looks right\n", res.Previous)
	}
	return nil
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	loc, _, err := dataCommand("check", args, stderr, false, nil)
	if err != nil {
		return err
	}
	switch {
	case loc.config != "":
		fmt.Fprintf(stdout, "configuration: ok (read %s)\n", loc.config)
	case loc.source == "--data":
		fmt.Fprintln(stdout, "configuration: not read (--data names the data directory)")
	default:
		fmt.Fprintf(stdout, "configuration: no file read (none given with --config, and %s does not exist); built-in defaults and LLAMENOS_* variables are valid\n", defaultConfigPath)
	}
	fmt.Fprintln(stdout, loc.describe())
	fmt.Fprintln(stdout, transcriptionLine(loc))
	var rep store.VerifyReport
	sock := control.SocketPath(loc.dir)
	if c, err := control.Dial(sock); err == nil {
		fmt.Fprintf(stdout, "the daemon is running: checking through its control socket %s\n", sock)
		rep, err = c.Check(ctx)
		if err != nil {
			return err
		}
	} else {
		path := filepath.Join(loc.dir, store.DefaultFileName)
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
