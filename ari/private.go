package ari

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"unicode/utf16"
	"unicode/utf8"
)

// Private is text that identifies a person: the name and number of a
// CallerID. A Go string cannot be erased, so Private keeps its bytes in a
// buffer of its own that Wipe zeroes. Decoding writes the text straight
// into that buffer, with no intermediate string.
//
// Copies of a Private value share its buffer: Wipe erases the text for all
// of them. A Private never prints: String, GoString, Format and LogValue
// give a placeholder.
type Private struct{ b []byte }

// NewPrivate copies s into a Private. For simulators and tests: s itself
// stays in memory as long as the string does.
func NewPrivate(s string) Private {
	if s == "" {
		return Private{}
	}
	return Private{b: []byte(s)}
}

// Bytes returns the text's buffer itself, not a copy: it reads as zeros
// after Wipe.
func (p Private) Bytes() []byte { return p.b }

// Len is the text's length in bytes.
func (p Private) Len() int { return len(p.b) }

// Clone returns a Private with a buffer of its own.
func (p Private) Clone() Private {
	if len(p.b) == 0 {
		return Private{}
	}
	return Private{b: append([]byte(nil), p.b...)}
}

// Wipe zeroes the buffer and empties p.
func (p *Private) Wipe() {
	clear(p.b)
	p.b = nil
}

const privatePlaceholder = "[private]"

func (Private) String() string             { return privatePlaceholder }
func (Private) GoString() string           { return privatePlaceholder }
func (Private) LogValue() slog.Value       { return slog.StringValue(privatePlaceholder) }
func (Private) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, privatePlaceholder) }

// MarshalJSON writes the text as a JSON string. The encoder copies the
// result into buffers of its own, which nobody wipes: the daemon never
// encodes a Private; simulators and tests do.
func (p Private) MarshalJSON() ([]byte, error) {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, len(p.b)+2)
	out = append(out, '"')
	for _, c := range p.b {
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == '\t':
			out = append(out, '\\', 't')
		case c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			out = append(out, c)
		}
	}
	return append(out, '"'), nil
}

// UnmarshalJSON decodes a JSON string (or null, which leaves p as it is)
// into a new buffer, replacing and wiping the old one. The JSON decoder
// hands over a slice of its input, so the text is copied exactly once,
// unescaped on the way. A lone surrogate escape becomes U+FFFD, as in a
// string; raw bytes that are not UTF-8 are kept as they are.
func (p *Private) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return errors.New("ari: private text: not a JSON string")
	}
	in := data[1 : len(data)-1]
	// Unescaping only shrinks the text, so out never grows (and never
	// leaves a copy behind in a discarded smaller buffer).
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		c := in[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(in) {
			clear(out)
			return errors.New("ari: private text: bad escape")
		}
		switch e := in[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(in[i+2:])
			if !ok {
				clear(out)
				return errors.New("ari: private text: bad \\u escape")
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if i+1 < len(in) && in[i] == '\\' && in[i+1] == 'u' {
					r2, ok = hex4(in[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			clear(out)
			return errors.New("ari: private text: bad escape")
		}
		i += 2
	}
	p.Wipe()
	if len(out) > 0 {
		p.b = out
	}
	return nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
