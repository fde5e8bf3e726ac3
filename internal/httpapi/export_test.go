// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"portolan"
	"portolan/internal/odata"
)

// AppendHostPortValue exposes the hostPort encoder to the black-box
// benchmarks: the "value" array of a page, every member, no $select.
func AppendHostPortValue(b []byte, ports []*portolan.HostPort) []byte {
	v := &portView{mask: hostPortType.All()}
	b = append(b, '[')
	for i, hp := range ports {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendHostPortMembers(b, true, hp, v)
		b = append(b, '}')
	}
	return append(b, ']')
}

// AppendString and AppendTime expose the JSON primitives to the tests that
// compare them with encoding/json and the time package.
var (
	AppendString = appendString
	AppendTime   = appendTime
)

// DescribedTypes returns the entity descriptions that $metadata declares,
// by qualified name, for the tests that tie them to the encoders, the CSDL
// and the spec.
func DescribedTypes() map[string]*odata.EntityType {
	return newCSDLWriter().types
}
