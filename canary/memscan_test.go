package canary

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// masked is a secret known only as two byte strings of its length, the
// secret XOR a random key and the key. Scanning compares memory with
// mem[i]^key[j] == masked[j], so the scanner never builds the secret: the
// only byte of it ever derived is the first one, to find candidates fast.
type masked struct{ text, key []byte }

func (m masked) len() int { return len(m.text) }

// at reports whether b starts with the secret.
func (m masked) at(b []byte) bool {
	if len(b) < len(m.text) {
		return false
	}
	for j := range m.text {
		if b[j]^m.key[j] != m.text[j] {
			return false
		}
	}
	return true
}

// tail is the secret without its first byte (an E.164 number without '+').
func (m masked) tail() masked { return masked{m.text[1:], m.key[1:]} }

// memHit is one copy found in memory.
type memHit struct {
	addr    uintptr
	mapping string
	full    bool   // preceded by the first byte ("+"): the whole number
	context string // printable bytes around the copy; digits shown as '#'
}

// memScan is what a scan of the process's own memory found.
type memScan struct {
	full, digits int   // copies of the whole number; of its digits (full ones included)
	scanned      int64 // bytes read
	unreadable   int64 // bytes of readable mappings the kernel refused (EIO)
	mappings     int
	hits         []memHit // the first few, for the failure message
}

const (
	scanChunk   = 1 << 20
	contextSide = 40
	maxHits     = 24
)

// scanSelf reads every readable mapping of this process and counts the
// copies of number (an E.164 number, '+' and digits) and of its digits. Its
// read buffer is mapped outside the Go heap, left out of the scan, and
// zeroed before it is unmapped.
func scanSelf(number masked) (memScan, error) {
	var res memScan
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return res, err
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		return res, err
	}
	defer mem.Close()
	digits := number.tail()
	size := scanChunk + digits.len() + 1
	buf, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return res, fmt.Errorf("map the scan buffer: %w", err)
	}
	defer func() {
		clear(buf)
		_ = syscall.Munmap(buf)
	}()
	own0 := uintptr(unsafe.Pointer(&buf[0]))
	own1 := own0 + uintptr(len(buf))
	first := digits.text[0] ^ digits.key[0]

	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		start, end, perms, name, err := parseMapsLine(sc.Text())
		if err != nil {
			return res, err
		}
		if perms[0] != 'r' || name == "[vvar]" || name == "[vvar_vclock]" || name == "[vsyscall]" {
			continue
		}
		if name == "" {
			name = "anonymous"
		}
		res.mappings++
		// The scan buffer may share its mapping with neighbours.
		for _, r := range subtract(start, end, own0, own1) {
			scanRange(mem, buf, r[0], r[1], name, digits, first, number, &res)
		}
	}
	return res, sc.Err()
}

// scanRange scans [start, end) chunk by chunk. Each read also takes the
// byte before the chunk (to tell whole numbers from digits) and the bytes
// after it that a copy starting in the chunk may run into.
func scanRange(mem *os.File, buf []byte, start, end uintptr, name string, digits masked, first byte, number masked, res *memScan) {
	for off := start; off < end; off += scanChunk {
		lo := off
		if lo > start {
			lo--
		}
		hi := min(end, off+scanChunk+uintptr(digits.len()-1))
		w := buf[:hi-lo]
		n, err := mem.ReadAt(w, int64(lo))
		if err != nil && n < len(w) {
			// A page the kernel will not read (EIO) ends the read early.
			res.unreadable += int64(len(w) - n)
			if n == 0 {
				continue
			}
			w = w[:n]
		}
		res.scanned += int64(min(uintptr(len(w)), end-off))
		// Copies must start inside [off, off+scanChunk).
		from, to := int(off-lo), min(len(w), int(off-lo)+scanChunk)
		for i := from; i < to; {
			k := bytes.IndexByte(w[i:to], first)
			if k < 0 {
				break
			}
			p := i + k
			i = p + 1
			if !digits.at(w[p:]) {
				continue
			}
			res.digits++
			full := p > 0 && w[p-1]^number.key[0] == number.text[0]
			if full {
				res.full++
			}
			if len(res.hits) < maxHits {
				res.hits = append(res.hits, memHit{addr: lo + uintptr(p), mapping: name, full: full, context: around(w, p, digits.len())})
			}
		}
	}
}

// around renders the bytes around a copy with every digit hidden, so a
// failure message shows what structure holds the copy and never a number.
func around(w []byte, p, n int) string {
	lo, hi := max(0, p-contextSide), min(len(w), p+n+contextSide)
	var sb strings.Builder
	for _, b := range w[lo:hi] {
		switch {
		case b >= '0' && b <= '9':
			sb.WriteByte('#')
		case b >= 0x20 && b < 0x7f:
			sb.WriteByte(b)
		default:
			sb.WriteByte('.')
		}
	}
	return sb.String()
}

// parseMapsLine reads "start-end perms offset dev inode [name]".
func parseMapsLine(line string) (start, end uintptr, perms, name string, err error) {
	f := strings.Fields(line)
	if len(f) < 5 {
		return 0, 0, "", "", fmt.Errorf("maps line %q", line)
	}
	a, b, ok := strings.Cut(f[0], "-")
	if !ok {
		return 0, 0, "", "", fmt.Errorf("maps line %q", line)
	}
	s, err1 := strconv.ParseUint(a, 16, 64)
	e, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil || e < s {
		return 0, 0, "", "", fmt.Errorf("maps line %q", line)
	}
	if len(f) > 5 {
		name = strings.Join(f[5:], " ")
	}
	return uintptr(s), uintptr(e), f[1], name, nil
}

// subtract returns [s, e) without [x0, x1).
func subtract(s, e, x0, x1 uintptr) [][2]uintptr {
	if x1 <= s || x0 >= e {
		return [][2]uintptr{{s, e}}
	}
	var out [][2]uintptr
	if x0 > s {
		out = append(out, [2]uintptr{s, x0})
	}
	if x1 < e {
		out = append(out, [2]uintptr{x1, e})
	}
	return out
}

func (s memScan) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d copies of the number, %d of its digits, in %d MiB of %d mappings (%d KiB unreadable)",
		s.full, s.digits, s.scanned>>20, s.mappings, s.unreadable>>10)
	for _, h := range s.hits {
		form := "digits"
		if h.full {
			form = "number"
		}
		fmt.Fprintf(&sb, "\n  %#x %-6s %s: %q", h.addr, form, h.mapping, h.context)
	}
	return sb.String()
}
