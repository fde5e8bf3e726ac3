// SPDX-License-Identifier: Apache-2.0

package odata

import (
	"fmt"
	"strings"

	"portolan"
)

// MaxOrderBy is how many keys $orderby takes (search-and-changes.md §3).
const MaxOrderBy = 3

// ParseOrderBy parses `path [asc|desc], ...` against the item type: up to
// MaxOrderBy single-valued paths ending in a property that may be ordered.
func ParseOrderBy(value string, t *EntityType) ([]portolan.OrderKey, error) {
	const option = "$orderby"
	if strings.TrimSpace(value) == "" {
		return nil, &SyntaxError{Option: option, Pos: 0, Msg: "Invalid value '' for query option '$orderby': it must name at least one property."}
	}
	var keys []portolan.OrderKey
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
			return nil, &SyntaxError{Option: option, Pos: pos, Msg: "Invalid value '" + clip(value) + "' for query option '$orderby': a property name is missing at position " + fmt.Sprint(pos) + "."}
		}
		pathText, direction, _ := strings.Cut(item, " ")
		direction = strings.ToLower(strings.TrimSpace(direction))
		key := portolan.OrderKey{}
		switch direction {
		case "", "asc":
		case "desc":
			key.Desc = true
		default:
			return nil, &SyntaxError{Option: option, Pos: pos + len(pathText) + 1, Msg: "Invalid value '" + clip(value) + "' for query option '$orderby': '" + clip(direction) + "' is neither asc nor desc."}
		}
		path, err := orderPath(pathText, t)
		if err != nil {
			return nil, err
		}
		key.Path = path
		for _, k := range keys {
			if k.Path.Name == path.Name {
				return nil, &SyntaxError{Option: option, Pos: pos, Msg: "Invalid value '" + clip(value) + "' for query option '$orderby': '" + path.Name + "' is listed more than once."}
			}
		}
		keys = append(keys, key)
		if len(keys) > MaxOrderBy {
			return nil, &SyntaxError{Option: option, Pos: pos, Msg: fmt.Sprintf("Unsupported query: $orderby takes at most %d properties.", MaxOrderBy)}
		}
		start = end + 1
	}
	return keys, nil
}

func orderPath(text string, t *EntityType) (portolan.Path, error) {
	typ := t
	var names []string
	var prop *Property
	owner := ""
	for _, name := range strings.Split(text, "/") {
		if typ == nil || (prop != nil && prop.Collection) {
			return portolan.Path{}, unsupportedOrder(text)
		}
		next := typ.Property(strings.TrimSpace(name))
		if next == nil {
			return portolan.Path{}, &SyntaxError{Option: "$orderby", Pos: -1, Msg: "Could not find a property named '" + clip(name) + "' on type '" + typ.Name + "'."}
		}
		owner, prop = typ.Name, next
		names = append(names, next.Name)
		typ = next.Type
	}
	if !prop.Sortable || prop.Collection {
		return portolan.Path{}, unsupportedOrder(text)
	}
	return portolan.Path{
		Name:    strings.Join(names, "/"),
		Kind:    valueKind(prop.Kind),
		Version: prop.Version,
		HostID:  owner == hostTypeName && prop.Name == "id",
	}, nil
}

func unsupportedOrder(path string) error {
	return &SyntaxError{Option: "$orderby", Pos: -1, Msg: "Unsupported query: ordering by '" + clip(path) + "'."}
}
