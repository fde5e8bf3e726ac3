// SPDX-License-Identifier: Apache-2.0

package odata

import (
	"slices"
	"strings"
)

// parseSelect parses a comma-separated $select list starting at offset base
// of the option named option, checking every name against t. Names are
// top-level properties only: Graph refuses nested paths (host/id) with the
// same message as an unknown name, which clients match on.
func parseSelect(value string, base int, option string, t *EntityType) (*Selection, error) {
	if strings.TrimSpace(value) == "" {
		return nil, &SyntaxError{Option: option, Pos: base, Msg: "Invalid value '' for query option '" + option + "': it must list at least one property."}
	}
	sel := &Selection{}
	start := 0
	for start <= len(value) {
		end := strings.IndexByte(value[start:], ',')
		if end < 0 {
			end = len(value)
		} else {
			end += start
		}
		item, pos := trimSpace(value[start:end], start)
		if item == "" {
			return nil, &SyntaxError{Option: option, Pos: base + pos, Msg: "Invalid value '" + clip(value) + "' for query option '" + option + "': a property name is missing."}
		}
		if item == "*" {
			sel.Mask = t.All()
			sel.Names = []string{"*"}
			// A star selects everything; names listed with it add nothing,
			// but they must still exist.
		} else {
			i := t.Index(item)
			if p := t.PathProperty(item); i < 0 && p != nil {
				// A navigation served as a path of its own (hosts/{id}/ports)
				// is a valid name, as $metadata declares it; it adds no member
				// (minimal metadata writes no navigation link).
				if !slices.Contains(sel.Names, p.Name) && !(len(sel.Names) == 1 && sel.Names[0] == "*") {
					sel.Names = append(sel.Names, p.Name)
				}
				start = end + 1
				continue
			}
			if i < 0 {
				return nil, &SyntaxError{Option: option, Pos: base + pos, Msg: noProperty(item, t)}
			}
			if sel.Mask&(1<<i) == 0 && !(len(sel.Names) == 1 && sel.Names[0] == "*") {
				sel.Names = append(sel.Names, t.Properties[i].Name)
			}
			sel.Mask |= 1 << i
		}
		start = end + 1
	}
	return sel, nil
}

// CheckSelect checks the names of a parsed $select against t, a type
// derived from the one it was parsed for (the concrete hostname or
// ipAddress of a single host): a property of a sibling type is refused with
// the message of an unknown name. A nil q.Select passes.
func (q *Query) CheckSelect(t *EntityType) error {
	if q.Select == nil {
		return nil
	}
	for _, name := range q.Select.Names {
		if name != "*" && t.Index(name) < 0 && t.PathProperty(name) == nil {
			return &SyntaxError{Option: "$select", Msg: noProperty(name, t)}
		}
	}
	return nil
}

// noProperty is Graph's message for a $select or $expand name that the type
// does not have (graph-api.md Part A, ISS threads).
func noProperty(name string, t *EntityType) string {
	return "Parsing OData Select and Expand failed: Could not find a property named '" + clip(name) + "' on type '" + t.Name + "'."
}

// trimSpace trims ASCII spaces and returns the offset of the first kept byte
// relative to the original string's start (off).
func trimSpace(s string, off int) (string, int) {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	j := len(s)
	for j > i && s[j-1] == ' ' {
		j--
	}
	return s[i:j], off + i
}

// parseExpand parses `nav[(($|)select=a,b)][,nav...]`. Only the navigation
// properties in t.Expandable may be expanded, each once; the only nested
// option is $select.
func parseExpand(value string, t *EntityType) ([]ExpandItem, error) {
	const option = "$expand"
	if strings.TrimSpace(value) == "" {
		return nil, &SyntaxError{Option: option, Pos: 0, Msg: "Invalid value '' for query option '$expand': it must name a navigation property."}
	}
	var items []ExpandItem
	start := 0
	for start <= len(value) {
		// Find the end of this item: the next comma outside parentheses.
		depth, end := 0, len(value)
		for i := start; i < len(value); i++ {
			switch value[i] {
			case '(':
				depth++
			case ')':
				depth--
				if depth < 0 {
					return nil, &SyntaxError{Option: option, Pos: i, Msg: "Invalid value '" + clip(value) + "' for query option '$expand': unbalanced ')'."}
				}
			case ',':
				if depth == 0 {
					end = i
				}
			}
			if end != len(value) {
				break
			}
		}
		if depth > 0 {
			return nil, &SyntaxError{Option: option, Pos: len(value), Msg: "Invalid value '" + clip(value) + "' for query option '$expand': missing ')'."}
		}
		item, pos := trimSpace(value[start:end], start)
		if item == "" {
			return nil, &SyntaxError{Option: option, Pos: pos, Msg: "Invalid value '" + clip(value) + "' for query option '$expand': a navigation property is missing."}
		}
		name, nested := item, ""
		nestedPos := 0
		if open := strings.IndexByte(item, '('); open >= 0 {
			if item[len(item)-1] != ')' {
				return nil, &SyntaxError{Option: option, Pos: pos + len(item), Msg: "Invalid value '" + clip(value) + "' for query option '$expand': unexpected text after ')'."}
			}
			name = strings.TrimRight(item[:open], " ")
			nested = item[open+1 : len(item)-1]
			nestedPos = pos + open + 1
		}
		ei, err := expandItem(name, pos, nested, nestedPos, t)
		if err != nil {
			return nil, err
		}
		for _, prev := range items {
			if prev.Property == ei.Property {
				return nil, &SyntaxError{Option: option, Pos: pos, Msg: "Invalid value '" + clip(value) + "' for query option '$expand': '" + ei.Property + "' is expanded more than once."}
			}
		}
		items = append(items, ei)
		start = end + 1
	}
	return items, nil
}

func expandItem(name string, pos int, nested string, nestedPos int, t *EntityType) (ExpandItem, error) {
	const option = "$expand"
	i := t.Index(name)
	if i < 0 {
		return ExpandItem{}, &SyntaxError{Option: option, Pos: pos, Msg: noProperty(name, t)}
	}
	canonical := t.Properties[i].Name
	target, ok := t.Expandable[canonical]
	if !ok {
		return ExpandItem{}, &SyntaxError{Option: option, Pos: pos, Msg: "Query option '$expand' is not supported for property '" + canonical + "' on type '" + t.Name + "'" + expandableList(t) + "."}
	}
	ei := ExpandItem{Property: canonical}
	if strings.TrimSpace(nested) == "" {
		return ei, nil
	}
	// Nested options are separated by ';' (OData ABNF expandOption).
	start := 0
	for start <= len(nested) {
		end := strings.IndexByte(nested[start:], ';')
		if end < 0 {
			end = len(nested)
		} else {
			end += start
		}
		opt, optPos := trimSpace(nested[start:end], start)
		optName, optValue, hasValue := strings.Cut(opt, "=")
		lower := strings.ToLower(strings.TrimSpace(optName))
		if lower != "$select" && lower != "select" {
			return ExpandItem{}, &SyntaxError{Option: option, Pos: nestedPos + optPos, Msg: "Nested query option '" + clip(strings.TrimSpace(optName)) + "' is not supported in $expand; only $select is."}
		}
		if !hasValue {
			return ExpandItem{}, &SyntaxError{Option: option, Pos: nestedPos + optPos + len(opt), Msg: "Invalid value '" + clip(nested) + "' for query option '$expand': nested $select needs '='."}
		}
		if ei.Select != nil {
			return ExpandItem{}, &SyntaxError{Option: option, Pos: nestedPos + optPos, Msg: "Nested query option '$select' is specified more than once in $expand."}
		}
		sel, err := parseSelect(optValue, nestedPos+optPos+len(optName)+1, option, target)
		if err != nil {
			return ExpandItem{}, err
		}
		ei.Select = sel
		start = end + 1
	}
	return ei, nil
}

func expandableList(t *EntityType) string {
	if len(t.Expandable) == 0 {
		return "; nothing can be expanded"
	}
	var names []string
	for _, p := range t.Properties { // stable order
		if _, ok := t.Expandable[p.Name]; ok {
			names = append(names, "'"+p.Name+"'")
		}
	}
	return "; only " + strings.Join(names, ", ") + " can be expanded"
}
