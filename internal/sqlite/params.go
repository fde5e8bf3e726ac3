// SPDX-License-Identifier: Apache-2.0

package sqlite

import "strings"

// positional rewrites a statement whose parameters are numbered (?1, ?2,
// as sqlfilter writes them, so that one value can be named twice) into
// one with plain ? parameters and the values in the order they appear,
// repeated where a number is. The driver asks SQLite for every parameter's
// name when it binds, and SQLite finds the name of a numbered parameter by
// walking the list of all of them: binding n numbered parameters takes n²/2
// steps, which for the thousands of values of a delta page's keys was a
// quarter of the CPU of a notification dispatcher with filtered
// subscriptions. Plain parameters have no names.
//
// Text inside quotes ('...', "...") and comments is copied as it is. A
// statement that also has a plain ? or a named parameter (:a, @a, $a), or
// a number with no value, is returned unchanged, for SQLite to answer as it
// would.
func positional(q string, args []any) (string, []any) {
	if !strings.Contains(q, "?") {
		return q, args
	}
	var b strings.Builder
	b.Grow(len(q))
	out := make([]any, 0, len(args))
	for i := 0; i < len(q); {
		switch c := q[i]; c {
		case '\'', '"':
			end := strings.IndexByte(q[i+1:], c)
			if end < 0 {
				return q, args
			}
			// A doubled quote inside is two quoted runs back to back.
			b.WriteString(q[i : i+end+2])
			i += end + 2
		case '-', '/':
			end := ""
			switch {
			case c == '-' && strings.HasPrefix(q[i:], "--"):
				end = "\n"
			case c == '/' && strings.HasPrefix(q[i:], "/*"):
				end = "*/"
			}
			if end == "" {
				b.WriteByte(c)
				i++
				continue
			}
			k := strings.Index(q[i+2:], end)
			if k < 0 {
				b.WriteString(q[i:])
				i = len(q)
				continue
			}
			b.WriteString(q[i : i+2+k+len(end)])
			i += 2 + k + len(end)
		case ':', '@', '$':
			if i+1 < len(q) && (q[i+1] == '_' || q[i+1] >= 'a' && q[i+1] <= 'z' || q[i+1] >= 'A' && q[i+1] <= 'Z' || q[i+1] >= '0' && q[i+1] <= '9') {
				return q, args
			}
			b.WriteByte(c)
			i++
		case '?':
			j := i + 1
			n := 0
			for j < len(q) && q[j] >= '0' && q[j] <= '9' && n <= len(args) {
				n = n*10 + int(q[j]-'0')
				j++
			}
			if j == i+1 || n < 1 || n > len(args) || (j < len(q) && q[j] >= '0' && q[j] <= '9') {
				return q, args
			}
			b.WriteByte('?')
			out = append(out, args[n-1])
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), out
}
