// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"slices"

	"modernc.org/sqlite"
)

// A set of instants (the distinct seenAt of a port's or a banner's
// observations, which timesObserved counts) is stored in its row as a blob:
// uvarint count, uvarint last, then the instants ascending as a uvarint
// first value and uvarint gaps. Keeping the set in the row makes counting
// distinct instants one upsert instead of one row per observation; the
// header makes the usual case (a newer scan) an append.

func init() {
	// Deterministic: the same sets give the same blob, so SQLite may use
	// the functions in upserts and indexes.
	sqlite.MustRegisterDeterministicScalarFunction("portolan_instants_merge", 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		a, _ := args[0].([]byte)
		b, _ := args[1].([]byte)
		return mergeInstants(a, b)
	})
	sqlite.MustRegisterDeterministicScalarFunction("portolan_instants_count", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		a, _ := args[0].([]byte)
		n, _, _, err := instantsHeader(a)
		return int64(n), err
	})
}

var errBadInstants = errors.New("sqlite: malformed instants blob")

// encodeInstants encodes ascending, distinct instants.
func encodeInstants(sorted []int64) []byte {
	if len(sorted) == 0 {
		return nil
	}
	b := make([]byte, 0, 4+len(sorted)*3)
	b = binary.AppendUvarint(b, uint64(len(sorted)))
	b = binary.AppendUvarint(b, uint64(sorted[len(sorted)-1]))
	prev := int64(0)
	for i, t := range sorted {
		if i == 0 {
			b = binary.AppendUvarint(b, uint64(t))
		} else {
			b = binary.AppendUvarint(b, uint64(t-prev))
		}
		prev = t
	}
	return b
}

// instantsFromSet encodes a set of instants.
func instantsFromSet(set map[int64]struct{}) []byte {
	s := make([]int64, 0, len(set))
	for t := range set {
		s = append(s, t)
	}
	slices.Sort(s)
	return encodeInstants(s)
}

// instantsHeader returns the count, the last instant and the body.
func instantsHeader(b []byte) (count uint64, last int64, body []byte, err error) {
	if len(b) == 0 {
		return 0, 0, nil, nil
	}
	count, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, 0, nil, errBadInstants
	}
	l, m := binary.Uvarint(b[n:])
	if m <= 0 {
		return 0, 0, nil, errBadInstants
	}
	return count, int64(l), b[n+m:], nil
}

// decodeInstants returns the instants of a blob, ascending.
func decodeInstants(b []byte) ([]int64, error) {
	count, _, body, err := instantsHeader(b)
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, min(count, uint64(len(body))))
	prev := int64(0)
	for len(body) > 0 {
		v, n := binary.Uvarint(body)
		if n <= 0 {
			return nil, errBadInstants
		}
		body = body[n:]
		prev += int64(v)
		out = append(out, prev)
	}
	if uint64(len(out)) != count {
		return nil, errBadInstants
	}
	return out, nil
}

// mergeInstants returns the union of two sets.
func mergeInstants(a, b []byte) ([]byte, error) {
	if len(a) == 0 {
		return b, nil
	}
	if len(b) == 0 {
		return a, nil
	}
	ca, lastA, bodyA, err := instantsHeader(a)
	if err != nil {
		return nil, err
	}
	cb, lastB, bodyB, err := instantsHeader(b)
	if err != nil {
		return nil, err
	}
	firstB, n := binary.Uvarint(bodyB)
	if n <= 0 {
		return nil, errBadInstants
	}
	if int64(firstB) > lastA {
		// Every instant of b is newer: append b, re-based on a's last.
		out := make([]byte, 0, len(a)+len(b))
		out = binary.AppendUvarint(out, ca+cb)
		out = binary.AppendUvarint(out, uint64(lastB))
		out = append(out, bodyA...)
		out = binary.AppendUvarint(out, firstB-uint64(lastA))
		return append(out, bodyB[n:]...), nil
	}
	sa, err := decodeInstants(a)
	if err != nil {
		return nil, err
	}
	sb, err := decodeInstants(b)
	if err != nil {
		return nil, err
	}
	merged := make([]int64, 0, len(sa)+len(sb))
	i, j := 0, 0
	for i < len(sa) || j < len(sb) {
		switch {
		case j == len(sb) || (i < len(sa) && sa[i] < sb[j]):
			merged = append(merged, sa[i])
			i++
		case i == len(sa) || sb[j] < sa[i]:
			merged = append(merged, sb[j])
			j++
		default:
			merged = append(merged, sa[i])
			i++
			j++
		}
	}
	return encodeInstants(merged), nil
}
