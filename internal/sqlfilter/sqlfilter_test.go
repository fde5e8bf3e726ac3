// SPDX-License-Identifier: Apache-2.0

package sqlfilter_test

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/sqlfilter"
)

var testDialect = &sqlfilter.Dialect{
	Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	FoldEqual:   func(col, p string) string { return "lower(" + col + ") = " + p },
	FoldLike:    func(col, p string) string { return "lower(" + col + ") LIKE " + p },
	Binary:      func(col string) string { return col },
	Time:        func(t time.Time) any { return t },
	VersionKey:  func(col string) string { return "vkey(" + col + ")" },
	InSubnet: func(col string, p netip.Prefix, b *sqlfilter.Builder) string {
		return "inet(" + col + ") <<= " + b.Param(p.String())
	},
	Base64:  func(e string) string { return "b64(" + e + ")" },
	False:   "false",
	NoLimit: "ALL",
}

// TestValuesAreParameters: whatever a filter holds, its values reach the
// database as parameters; the statement holds only the schema's text.
func TestValuesAreParameters(t *testing.T) {
	hostile := []string{`x'; DROP TABLE host_ports; --`, `%_\`, `" OR 1=1 --`, "\x00nul"}
	s := sqlfilter.HostPortSchema(sqlfilter.Tables{RecentSince: "hp.last_scan", AliasName: "name", HostID: "id"})
	for _, v := range hostile {
		hostPath := portolan.Path{Name: "host/id", Kind: portolan.ValueString, HostID: true}
		e := &portolan.Logical{Or: true,
			Left: &portolan.Compare{Op: portolan.OpEq, Path: hostPath, Value: portolan.Value{Kind: portolan.ValueString, Str: v}},
			Right: &portolan.Lambda{Collection: portolan.Path{Name: "banners"}, Var: "b",
				Body: &portolan.Match{Func: portolan.Contains, Path: portolan.Path{Var: "b", Name: "banner", Kind: portolan.ValueString}, Arg: v}},
		}
		b := &sqlfilter.Builder{Dialect: testDialect}
		sql, err := b.Where(e, s)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(sql, v) || strings.Contains(sql, "DROP") || strings.Contains(sql, "1=1") {
			t.Errorf("value spliced into SQL: %s", sql)
		}
		found := 0
		for _, a := range b.Args {
			if s, ok := a.(string); ok && (strings.EqualFold(s, v) || strings.Contains(s, strings.ToLower(v[:3]))) {
				found++
			}
		}
		if found < 2 {
			t.Errorf("%q: the values are not among the parameters %q", v, b.Args)
		}
	}
}

// TestLikeEscapes: the wildcards of LIKE in a contains() argument match
// themselves.
func TestLikeEscapes(t *testing.T) {
	s := sqlfilter.HostPortSchema(sqlfilter.Tables{RecentSince: "hp.last_scan", AliasName: "name", HostID: "id"})
	b := &sqlfilter.Builder{Dialect: testDialect}
	_, err := b.Where(&portolan.Match{Func: portolan.StartsWith, Path: portolan.Path{Name: "host/id", Kind: portolan.ValueString}, Arg: `10%_\A`}, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Args) != 1 || b.Args[0] != `10\%\_\\a%` {
		t.Errorf("pattern %q, want %q", b.Args, `10\%\_\\a%`)
	}
}

// TestCursorRoundTrip: a keyset position survives its token, and a token
// that is not one is refused.
func TestCursorRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 5, time.UTC)
	values := []any{nil, "host", int64(443), int32(22), []byte{1, 2, 3}, at}
	got, err := testDialect.DecodeCursor(testDialect.EncodeCursor(values))
	if err != nil {
		t.Fatal(err)
	}
	want := []any{nil, "host", int64(443), int64(22), []byte{1, 2, 3}, at}
	for i := range want {
		if gs, ws := strconv.Quote(toString(got[i])), strconv.Quote(toString(want[i])); gs != ws {
			t.Errorf("value %d: %s, want %s", i, gs, ws)
		}
	}
	for _, bad := range []string{"", "!!!", "W10", "bnVsbA"} {
		if _, err := testDialect.DecodeCursor(bad); portolan.ErrorCode(err) != portolan.EINVALID {
			t.Errorf("DecodeCursor(%q) = %v, want EINVALID", bad, err)
		}
	}
}

func toString(v any) string {
	switch v := v.(type) {
	case nil:
		return "<nil>"
	case []byte:
		return "bytes:" + string(v)
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case string:
		return "s:" + v
	}
	return "n:" + strings.TrimSpace(strconv.FormatInt(v.(int64), 10))
}
