package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"llamenos/config"
	"llamenos/transcribe"
)

func init() {
	commands["model"] = command{"install or verify the whisper.cpp model that transcription uses", runModel}
	commands["transcribe-worker"] = command{"run one transcription job (the daemon starts it)", runTranscribeWorker}
}

// runTranscribeWorker is the worker process of one transcription job:
// the daemon starts it, sends the job over stdin and reads the answer on
// stdout (transcribe.Worker). It holds no key and writes no file.
func runTranscribeWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("transcribe-worker", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: llamenos transcribe-worker")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Runs one transcription job for the daemon, which starts it; not for use by hand.")
	}
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	return transcribe.ServeWorker(ctx, os.Stdin, stdout, transcribe.OpenWhisper)
}

func runModel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, "usage: llamenos model install [--config FILE | --data DIR] [--sha256 HEX] FILE|URL")
		fmt.Fprintln(stderr, "       llamenos model verify  [--config FILE | --data DIR]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "install copies a whisper.cpp ggml model into DATA/models, checking its checksum:")
		fmt.Fprintln(stderr, "the official one of whisper.cpp's model files (ggml-base.bin, …), or --sha256.")
		fmt.Fprintln(stderr, "A wrong or truncated file is refused and nothing of it is left.")
		fmt.Fprintln(stderr, "verify checks the model that [transcription] model names, or every installed one.")
	}
	if len(args) == 0 {
		usage()
		return fmt.Errorf("%w: model install or model verify", errUsage)
	}
	fs := newFlags("model "+args[0], stderr)
	cfgPath := fs.String("config", "", "daemon configuration file (default "+defaultConfigPath+" if it exists)")
	dataDir := fs.String("data", "", "data directory (overrides the configuration)")
	fs.Usage = func() { usage(); fmt.Fprintln(stderr); fs.PrintDefaults() }
	switch args[0] {
	case "install":
		sum := fs.String("sha256", "", "the model file's SHA-256 (needed for a file that is not an official whisper.cpp model)")
		if err := parseFlags(fs, args[1:], 1); err != nil {
			return err
		}
		loc, err := resolveDataDir(*cfgPath, *dataDir, os.Environ())
		if err != nil {
			return err
		}
		client := &http.Client{Timeout: 2 * time.Hour}
		in, err := transcribe.InstallModel(ctx, client, fs.Arg(0), loc.dir, *sum)
		if err != nil {
			return fmt.Errorf("model install: %w", err)
		}
		rel, _ := filepath.Rel(loc.dir, in.Path)
		fmt.Fprintf(stdout, "installed %s (%d bytes, SHA-256 %s)\n", in.Path, in.Size, in.SHA256)
		fmt.Fprintf(stdout, "to use it, set in the configuration:\n\n[transcription]\nmodel = %q\n", rel)
		return nil
	case "verify":
		if err := parseFlags(fs, args[1:], 0); err != nil {
			return err
		}
		loc, err := resolveDataDir(*cfgPath, *dataDir, os.Environ())
		if err != nil {
			return err
		}
		model := ""
		if loc.config != "" {
			cfg, err := config.Load(loc.config, os.Environ())
			if err != nil {
				return err
			}
			model = cfg.Transcription.Model
		}
		paths := []string{transcribe.ModelPath(loc.dir, model)}
		if model == "" {
			paths, _ = filepath.Glob(filepath.Join(loc.dir, transcribe.ModelDir, "*.bin"))
			if len(paths) == 0 {
				return fmt.Errorf("model verify: no model configured and none installed in %s", filepath.Join(loc.dir, transcribe.ModelDir))
			}
		}
		for _, p := range paths {
			in, err := transcribe.VerifyModel(p)
			if err != nil {
				return fmt.Errorf("model verify: %w", err)
			}
			official := ""
			if in.Official {
				official = ", the official whisper.cpp file"
			}
			fmt.Fprintf(stdout, "%s: ok (%d bytes, SHA-256 %s%s)\n", in.Path, in.Size, in.SHA256, official)
		}
		return nil
	}
	usage()
	return fmt.Errorf("%w: unknown model command %q", errUsage, args[0])
}

// transcriptionLine is what `llamenos check` says of transcription.
func transcriptionLine(loc location) string {
	model := ""
	if loc.config != "" {
		if cfg, err := config.Load(loc.config, os.Environ()); err == nil {
			model = cfg.Transcription.Model
		}
	}
	return "transcription: " + transcribe.Check(loc.dir, model).String()
}
