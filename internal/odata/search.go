// SPDX-License-Identifier: Apache-2.0

package odata

import "strings"

// parseSearch parses the certificate search of graph-api.md E8:
// `"field:value"`, a double-quoted phrase (inside which \" and \\ are
// escapes, as in OData's searchPhrase) holding a field name, a colon and the
// value. The quotes may be omitted for a value without spaces.
func parseSearch(value string, fields []string) (*SearchTerm, error) {
	const option = "$search"
	bad := func(pos int, why string) error {
		return &SyntaxError{Option: option, Pos: pos, Msg: "Invalid value '" + clip(value) + "' for query option '$search': " + why + "."}
	}
	phrase, phrasePos := value, 0
	if strings.HasPrefix(value, `"`) {
		var b strings.Builder
		closed := -1
		for i := 1; i < len(value); i++ {
			c := value[i]
			if c == '\\' {
				if i+1 < len(value) && (value[i+1] == '"' || value[i+1] == '\\') {
					b.WriteByte(value[i+1])
					i++
					continue
				}
				return nil, bad(i, `a backslash must be followed by " or \`)
			}
			if c == '"' {
				closed = i
				break
			}
			b.WriteByte(c)
		}
		if closed < 0 {
			return nil, bad(len(value), "the closing quote is missing")
		}
		if closed != len(value)-1 {
			return nil, bad(closed+1, "unexpected text after the closing quote")
		}
		phrase, phrasePos = b.String(), 1
	} else if i := strings.IndexByte(value, '"'); i >= 0 {
		// Without an opening quote a closing one is an error, not part of
		// the value: the quotes are checked at both ends.
		if i == len(value)-1 {
			return nil, bad(i, "the opening quote is missing")
		}
		return nil, bad(i, "a quote must enclose the whole phrase")
	}
	field, term, ok := strings.Cut(phrase, ":")
	if !ok {
		return nil, bad(phrasePos, `it must be "field:value"`)
	}
	field = strings.TrimSpace(field)
	canonical := ""
	for _, f := range fields {
		if strings.EqualFold(f, field) {
			canonical = f
			break
		}
	}
	if canonical == "" {
		return nil, bad(phrasePos, "'"+clip(field)+"' is not a searchable field; use one of "+strings.Join(fields, ", "))
	}
	term = strings.TrimSpace(term)
	if term == "" {
		return nil, bad(phrasePos+len(phrase), "the value after ':' is empty")
	}
	return &SearchTerm{Field: canonical, Value: term}, nil
}
