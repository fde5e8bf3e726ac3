// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"database/sql"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestPositional(t *testing.T) {
	x, y := "x", 2
	for _, c := range []struct {
		q        string
		args     []any
		want     string
		wantArgs []any
	}{
		{"a = ?1 AND b = ?2 OR c = ?1", []any{x, y}, "a = ? AND b = ? OR c = ?", []any{x, y, x}},
		{"a = ?2 AND b = ?1", []any{x, y}, "a = ? AND b = ?", []any{y, x}},
		{"x = '?1' AND y = ?1", []any{x}, "x = '?1' AND y = ?", []any{x}},
		{`x = 'it''s ?2' AND "col?1" = ?2`, []any{x, y}, `x = 'it''s ?2' AND "col?1" = ?`, []any{y}},
		{"a = ?1 -- ?2 'b\n AND b = ?2 /* ?1 ' */", []any{x, y}, "a = ? -- ?2 'b\n AND b = ? /* ?1 ' */", []any{x, y}},
		{"a = ?12", []any{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, "a = ?", []any{12}},
		{"a - b / c", nil, "a - b / c", nil},
		// Left as they are: a plain ?, a named parameter, a number with no
		// value, an unterminated quote.
		{"a = ? AND b = ?1", []any{x}, "a = ? AND b = ?1", []any{x}},
		{"a = :a AND b = ?1", []any{x}, "a = :a AND b = ?1", []any{x}},
		{"a = ?3", []any{x, y}, "a = ?3", []any{x, y}},
		{"a = ?0", []any{x}, "a = ?0", []any{x}},
		{"a = ?100000000000000000000", []any{x}, "a = ?100000000000000000000", []any{x}},
		{"a = '?1", []any{x}, "a = '?1", []any{x}},
	} {
		got, gotArgs := positional(c.q, c.args)
		if got != c.want || !reflect.DeepEqual(gotArgs, c.wantArgs) {
			t.Errorf("positional(%q, %v) = %q, %v; want %q, %v", c.q, c.args, got, gotArgs, c.want, c.wantArgs)
		}
	}
}

// FuzzPositional builds SELECT statements of numbered parameters, quoted
// text and comments from the fuzzer's bytes and runs each in SQLite as it
// is and rewritten: the rows must be the same.
func FuzzPositional(f *testing.F) {
	f.Add([]byte{0, 5, 3, 'a', '?', 4, 10, 2})
	f.Add([]byte{3, '\'', '?', '1', 1, 4, 0, 0, 3, '-', '-', '?'})
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	args := []any{"a", int64(2), "?1", 4.5, []byte("e")}
	const chars = "?1'-*/ a\"\n"
	f.Fuzz(func(t *testing.T, data []byte) {
		var items []string
		params := 0
		for i := 0; i < len(data) && len(items) < 50; i++ {
			switch b := data[i]; b % 5 {
			case 0, 1, 2:
				items = append(items, "?"+strconv.Itoa(int(b/5)%len(args)+1))
				params++
			case 3: // a quoted text of the next bytes
				var s strings.Builder
				for i+1 < len(data) && data[i+1]%7 != 0 {
					i++
					s.WriteByte(chars[int(data[i])%len(chars)])
				}
				items = append(items, "'"+strings.ReplaceAll(s.String(), "'", "''")+"'")
			case 4:
				items = append(items, "/* ?1 ' -- */ 0", "0 -- ?2 '\n")
			}
		}
		if len(items) == 0 {
			return
		}
		q := "SELECT " + strings.Join(items, ", ")
		got, gotArgs := positional(q, args)
		if params > 0 && (got == q || len(gotArgs) != params) {
			t.Fatalf("%q: rewritten %q with %d values for %d parameters", q, got, len(gotArgs), params)
		}
		want, err := selectRow(db, q, args)
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		have, err := selectRow(db, got, gotArgs)
		if err != nil {
			t.Fatalf("%q rewritten %q: %v", q, got, err)
		}
		if !reflect.DeepEqual(want, have) {
			t.Fatalf("%q: %v\nrewritten %q: %v", q, want, got, have)
		}
	})
}

// selectRow runs q and prints its one row.
func selectRow(db *sql.DB, q string, args []any) (string, error) {
	rows, err := db.Query(q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	values := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range values {
		ptrs[i] = &values[i]
	}
	if !rows.Next() {
		return "", fmt.Errorf("no row")
	}
	if err := rows.Scan(ptrs...); err != nil {
		return "", err
	}
	return fmt.Sprint(values...), rows.Err()
}
