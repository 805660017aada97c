// Package sounds holds the caller prompts the appliance ships: one recording
// per prompt and language, spoken by espeak-ng and made by
// scripts/gen-prompts.sh, as 8 kHz µ-law (.ulaw), the format Asterisk plays
// to a PCMU call without transcoding.
//
// The files are laid out as in Asterisk's sounds directory,
// <lang>/llamenos/<name>.ulaw, so `llamenos asterisk-config --sounds DIR`
// copies them there as they are and the dialplan name "llamenos/<name>"
// finds the caller's language. Admins may replace one with their own
// recording (api, the Prompts screen); Default gives the shipped one back.
package sounds

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

//go:embed */llamenos/*.ulaw
var files embed.FS

// Dir is the subdirectory of each language's sounds directory that holds
// the appliance's prompts: Asterisk's name of a prompt is Dir+"/"+name.
const Dir = "llamenos"

// Ext is the extension of every prompt file; Asterisk takes the format
// from it.
const Ext = ".ulaw"

// SampleRate of the files: µ-law at 8000 samples a second, one byte each.
const SampleRate = 8000

// Names are the shipped prompts, in the order the caller may hear them.
var Names = []string{
	"language-menu", // "for English, press", then the menu's digit
	"captcha-intro", // "please enter the following digits", then the digits
	"captcha-retry", // the digits were wrong, a new challenge follows
	"captcha-fail",  // the last attempt failed, before hanging up
	"transcribed",   // the call is transcribed
	"greeting",      // before the music on hold
	"busy",          // over the rate limit
	"unavailable",   // nobody answered or nobody is on shift
	"voicemail",     // leave a message after the tone
	"error",         // something broke
}

// Languages lists the languages prompts are shipped in.
func Languages() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// Path is a prompt's file relative to a sounds directory, e.g.
// "es/llamenos/greeting.ulaw".
func Path(lang, name string) string {
	return lang + "/" + Dir + "/" + name + Ext
}

// ErrNoDefault: no shipped recording for this prompt in this language.
var ErrNoDefault = errors.New("sounds: no shipped recording of this prompt in this language")

// Default returns the shipped recording of a prompt.
func Default(lang, name string) ([]byte, error) {
	if !slices.Contains(Names, name) {
		return nil, fmt.Errorf("%w: %s/%s", ErrNoDefault, lang, name)
	}
	b, err := files.ReadFile(Path(lang, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s/%s", ErrNoDefault, lang, name)
	}
	return b, err
}

// FS is the shipped tree, <lang>/llamenos/<name>.ulaw.
func FS() fs.FS { return files }

// Duration is how long a µ-law recording of n bytes plays.
func Duration(n int) time.Duration {
	return time.Duration(n) * time.Second / SampleRate
}

// Install copies every shipped prompt into dir (Asterisk's sounds
// directory, e.g. /var/lib/asterisk/sounds), creating <lang>/llamenos/ with
// dirMode and the files with fileMode. A file that already holds other
// bytes (an admin's own recording) is kept unless overwrite is set; it
// returns the paths written.
func Install(dir string, dirMode, fileMode os.FileMode, overwrite bool) ([]string, error) {
	var written []string
	for _, lang := range Languages() {
		sub := filepath.Join(dir, lang, Dir)
		if err := os.MkdirAll(sub, dirMode); err != nil {
			return written, fmt.Errorf("sounds: %w", err)
		}
		if err := os.Chmod(sub, dirMode); err != nil {
			return written, fmt.Errorf("sounds: %w", err)
		}
		for _, name := range Names {
			body, err := Default(lang, name)
			if err != nil {
				return written, err
			}
			p := filepath.Join(sub, name+Ext)
			if !overwrite {
				if _, err := os.Stat(p); err == nil {
					continue
				}
			}
			if err := WriteFile(p, body, fileMode); err != nil {
				return written, err
			}
			written = append(written, p)
		}
	}
	return written, nil
}

// WriteFile writes a prompt through a temporary file and a rename, so
// Asterisk never opens a half-written one.
func WriteFile(path string, body []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("sounds: %w", err)
	}
	_, werr := tmp.Write(body)
	if werr == nil {
		werr = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("sounds: write %s: %w", path, werr)
	}
	return nil
}
