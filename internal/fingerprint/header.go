// SPDX-License-Identifier: Apache-2.0

package fingerprint

import "strings"

// httpHead is the header block of an HTTP banner: from its first non-empty
// line (the status line, or directly a field when an ingester only knows one
// header) to the blank line that ends it, so that a body that follows cannot
// pass for a header.
type httpHead struct {
	parsed bool
	text   string
	// escaped is set when the banner has no newline byte but escaped ones
	// (`\x0d\x0a`), as masscan writes HTTP banners and some ingesters pass
	// them on.
	escaped bool
}

func parseHead(banner string) httpHead {
	h := httpHead{parsed: true}
	h.escaped = strings.IndexByte(banner, '\n') < 0 && indexEscapedLF(banner) >= 0
	start, pos := -1, 0
	for rest := banner; rest != ""; {
		line, next := h.cut(rest)
		if line == "" {
			if start >= 0 {
				h.text = banner[start:pos]
				return h
			}
		} else if start < 0 {
			start = pos
		}
		pos += len(rest) - len(next)
		rest = next
	}
	if start >= 0 {
		h.text = banner[start:]
	}
	return h
}

// cut returns the first line of s, without its line ending, and the rest.
func (h *httpHead) cut(s string) (line, rest string) {
	if h.escaped {
		i := indexEscapedLF(s)
		if i < 0 {
			line = s
		} else {
			line, rest = s[:i], s[i+len(`\x0a`):]
		}
		if n := len(line) - len(`\x0d`); n >= 0 && strings.EqualFold(line[n:], `\x0d`) {
			line = line[:n]
		}
		return line, rest
	}
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		line = s
	} else {
		line, rest = s[:i], s[i+1:]
	}
	return strings.TrimSuffix(line, "\r"), rest
}

// next finds the next field called name (ASCII case ignored, as HTTP does)
// in rest, a suffix of h.text, and returns its value with surrounding blanks
// trimmed and the text after it.
func (h *httpHead) next(rest, name string) (value, after string, ok bool) {
	for rest != "" {
		var line string
		line, rest = h.cut(rest)
		if len(line) <= len(name) || !strings.EqualFold(line[:len(name)], name) {
			continue
		}
		v := strings.TrimLeft(line[len(name):], " \t")
		if strings.HasPrefix(v, ":") {
			return strings.Trim(v[1:], " \t"), rest, true
		}
	}
	return "", "", false
}

// indexEscapedLF returns the index of the first `\x0a` (either case) in s,
// or -1.
func indexEscapedLF(s string) int {
	for i := 0; ; {
		j := strings.Index(s[i:], `\x0`)
		if j < 0 {
			return -1
		}
		j += i
		if j+3 < len(s) && (s[j+3] == 'a' || s[j+3] == 'A') {
			return j
		}
		i = j + 3
	}
}
