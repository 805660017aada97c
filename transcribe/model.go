package transcribe

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ModelDir is where `llamenos model install` puts models, under the data
// directory; [transcription] model names one relative to the data
// directory (models/ggml-base.bin) or by an absolute path.
const ModelDir = "models"

// ggmlMagic starts every whisper.cpp model file ("ggml", little-endian).
const ggmlMagic = 0x67676d6c

// OfficialSHA1 is the SHA-1 that whisper.cpp publishes for each of its
// official model files, by file name.
var OfficialSHA1 = map[string]string{
	"ggml-tiny.bin":                "bd577a113a864445d4c299885e0cb97d4ba92b5f",
	"ggml-tiny.en.bin":             "c78c86eb1a8faa21b369bcd33207cc90d64ae9df",
	"ggml-base.bin":                "465707469ff3a37a2b9b8d8f89f2f99de7299dac",
	"ggml-base.en.bin":             "137c40403d78fd54d454da0f9bd998f78703390c",
	"ggml-small.bin":               "55356645c2b361a969dfd0ef2c5a50d530afd8d5",
	"ggml-small.en.bin":            "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022",
	"ggml-small.en-tdrz.bin":       "b6c6e7e89af1a35c08e6de56b66ca6a02a2fdfa1",
	"ggml-medium.bin":              "fd9727b6e1217c2f614f9b698455c4ffd82463b4",
	"ggml-medium.en.bin":           "8c30f0e44ce9560643ebd10bbe50cd20eafd3723",
	"ggml-large-v1.bin":            "b1caaf735c4cc1429223d5a74f0f4d0b9b59a299",
	"ggml-large-v2.bin":            "0f4c8e34f21cf1a914c59d8b3ce882345ad349d6",
	"ggml-large-v2-q5_0.bin":       "00e39f2196344e901b3a2bd5814807a769bd1630",
	"ggml-large-v3.bin":            "ad82bf6a9043ceed055076d0fd39f5f186ff8062",
	"ggml-large-v3-q5_0.bin":       "e6e2ed78495d403bef4b7cff42ef4aaadcfea8de",
	"ggml-large-v3-turbo.bin":      "4af2b29d7ec73d781377bfd1758ca957a807e941",
	"ggml-large-v3-turbo-q5_0.bin": "e050f7970618a659205450ad97eb95a18d69c9ee",
}

// sumSuffix names the file beside a model that records its SHA-256, in
// sha256sum's format, written by InstallModel and read by VerifyModel.
const sumSuffix = ".sha256"

var (
	hexSHA256  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	modelNameR = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// Installed describes a model in place.
type Installed struct {
	Path   string
	Size   int64
	SHA256 string
	// Official is true when the file is one of whisper.cpp's official
	// models, checked against OfficialSHA1.
	Official bool
}

// InstallModel copies the model at src (a file path or an http(s) URL)
// into dataDir/models under its file name, checking it on the way: it must
// be a ggml file, and its checksum must be wantSHA256 (hex) when given,
// else the official one of a model of that name. A wrong, truncated or
// unknown file is refused and nothing is left of it; the model appears
// under its name only once it is complete and checked.
func InstallModel(ctx context.Context, client *http.Client, src, dataDir, wantSHA256 string) (Installed, error) {
	wantSHA256 = strings.ToLower(strings.TrimSpace(wantSHA256))
	if wantSHA256 != "" && !hexSHA256.MatchString(wantSHA256) {
		return Installed{}, fmt.Errorf("--sha256 %q: want 64 hex digits", wantSHA256)
	}
	name, body, size, err := openSource(ctx, client, src)
	if err != nil {
		return Installed{}, err
	}
	defer body.Close()
	if !modelNameR.MatchString(name) {
		return Installed{}, fmt.Errorf("model file name %q: want letters, digits, '.', '_' and '-'", name)
	}
	official, known := OfficialSHA1[name]
	if wantSHA256 == "" && !known {
		return Installed{}, fmt.Errorf("%s is not an official whisper.cpp model file name: give its checksum with --sha256", name)
	}
	dir := filepath.Join(dataDir, ModelDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Installed{}, err
	}
	// What an install cut off (power loss, kill -9) left is removed.
	if old, err := filepath.Glob(filepath.Join(dir, "."+name+".partial-*")); err == nil {
		for _, p := range old {
			os.Remove(p)
		}
	}
	tmp, err := os.CreateTemp(dir, "."+name+".partial-*")
	if err != nil {
		return Installed{}, err
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	s256, s1 := sha256.New(), sha1.New()
	n, err := io.Copy(io.MultiWriter(tmp, s256, s1), body)
	if err != nil {
		return Installed{}, fmt.Errorf("reading %s: %w", src, err)
	}
	if size >= 0 && n != size {
		return Installed{}, fmt.Errorf("%s: truncated: got %d of %d bytes", src, n, size)
	}
	if err := checkMagic(tmp); err != nil {
		return Installed{}, fmt.Errorf("%s: %w", src, err)
	}
	got := hex.EncodeToString(s256.Sum(nil))
	if wantSHA256 != "" && got != wantSHA256 {
		return Installed{}, fmt.Errorf("%s: SHA-256 is %s, not %s: wrong or damaged file, not installed", src, got, wantSHA256)
	}
	if known {
		if g1 := hex.EncodeToString(s1.Sum(nil)); g1 != official {
			return Installed{}, fmt.Errorf("%s: SHA-1 is %s, not the official %s of %s: wrong or damaged file, not installed", src, g1, official, name)
		}
	}
	if err := tmp.Sync(); err != nil {
		return Installed{}, err
	}
	if err := tmp.Close(); err != nil {
		return Installed{}, err
	}
	path := filepath.Join(dir, name)
	// The checksum file goes first: a model without one fails VerifyModel,
	// and a checksum without its model names nothing.
	if err := writeFileAtomic(path+sumSuffix, []byte(got+"  "+name+"\n")); err != nil {
		return Installed{}, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return Installed{}, err
	}
	tmp = nil
	if err := syncDir(dir); err != nil {
		return Installed{}, err
	}
	return Installed{Path: path, Size: n, SHA256: got, Official: known}, nil
}

// openSource opens a file or an http(s) URL and returns the model's file
// name, its content and its size (-1 when unknown).
func openSource(ctx context.Context, client *http.Client, src string) (string, io.ReadCloser, int64, error) {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		u, err := url.Parse(src)
		if err != nil {
			return "", nil, 0, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return "", nil, 0, err
		}
		if client == nil {
			client = http.DefaultClient
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", nil, 0, fmt.Errorf("downloading the model: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return "", nil, 0, fmt.Errorf("downloading %s: %s", src, resp.Status)
		}
		return filepath.Base(u.Path), resp.Body, resp.ContentLength, nil
	}
	f, err := os.Open(src)
	if err != nil {
		return "", nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return "", nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return "", nil, 0, fmt.Errorf("%s is not a regular file", src)
	}
	return filepath.Base(src), f, fi.Size(), nil
}

func checkMagic(f *os.File) error {
	var m [4]byte
	if _, err := f.ReadAt(m[:], 0); err != nil {
		return fmt.Errorf("not a ggml model: %w", err)
	}
	if binary.LittleEndian.Uint32(m[:]) != ggmlMagic {
		return errors.New("not a ggml model (its first bytes are not the ggml magic)")
	}
	return nil
}

// ModelPath is the configured model's path: relative ones are under the
// data directory.
func ModelPath(dataDir, model string) string {
	if filepath.IsAbs(model) {
		return model
	}
	return filepath.Join(dataDir, model)
}

// VerifyModel checks the model at path against the checksum recorded when
// it was installed (and the official one, for an official file name).
func VerifyModel(path string) (Installed, error) {
	rec, err := os.ReadFile(path + sumSuffix)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat(path); serr != nil {
				return Installed{}, fmt.Errorf("model %s: %w", path, serr)
			}
			return Installed{}, fmt.Errorf("model %s has no recorded checksum: install it with `llamenos model install`", path)
		}
		return Installed{}, err
	}
	want, _, _ := strings.Cut(strings.TrimSpace(string(rec)), " ")
	if !hexSHA256.MatchString(want) {
		return Installed{}, fmt.Errorf("%s%s: not a SHA-256 checksum", path, sumSuffix)
	}
	f, err := os.Open(path)
	if err != nil {
		return Installed{}, fmt.Errorf("model %s: %w", path, err)
	}
	defer f.Close()
	if err := checkMagic(f); err != nil {
		return Installed{}, fmt.Errorf("model %s: %w", path, err)
	}
	s256, s1 := sha256.New(), sha1.New()
	n, err := io.Copy(io.MultiWriter(s256, s1), f)
	if err != nil {
		return Installed{}, fmt.Errorf("reading model %s: %w", path, err)
	}
	got := sum(s256)
	if got != want {
		return Installed{}, fmt.Errorf("model %s: SHA-256 is %s, not the %s recorded at install: damaged or replaced", path, got, want)
	}
	name := filepath.Base(path)
	official, known := OfficialSHA1[name]
	if known && sum(s1) != official {
		return Installed{}, fmt.Errorf("model %s: SHA-1 is %s, not the official %s", path, sum(s1), official)
	}
	return Installed{Path: path, Size: n, SHA256: got, Official: known}, nil
}

func sum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
