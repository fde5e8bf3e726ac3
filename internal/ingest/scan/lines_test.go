// SPDX-License-Identifier: Apache-2.0

package scan_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"portolan/internal/ingest/scan"
)

// readAll returns what Read returns for each line, with its number and
// offset, and the offset after the last.
func readAll(t *testing.T, lr *scan.LineReader) (lines []string, end int64, err error) {
	t.Helper()
	for {
		line, tooLong, err := lr.Read()
		if err != nil {
			return lines, lr.InputOffset(), err
		}
		s := fmt.Sprintf("%d@%d:%q", lr.Line(), lr.Offset(), line)
		if tooLong {
			s = fmt.Sprintf("%d@%d:too long", lr.Line(), lr.Offset())
		}
		lines = append(lines, s)
	}
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 40) // longer than the 16-byte buffer below
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"", 5, ""},
		{"a\r\nbb\n\nccc", 5, `1@0:"a" 2@3:"bb" 3@6:"" 4@7:"ccc"`},
		{"a\nbbbbbb\nc\n", 5, `1@0:"a" 2@2:too long 3@9:"c"`},
		{"abcde\r\n", 5, `1@0:"abcde"`}, // the line ending does not count
		{long + "\n" + long, 40, `1@0:"` + long + `" 2@41:"` + long + `"`},
		{long + "\nok\n" + long + "\n", 39, `1@0:too long 2@41:"ok" 3@44:too long`},
	} {
		lr := scan.NewLineReader(bufio.NewReaderSize(strings.NewReader(c.in), 16), c.max)
		lines, end, err := readAll(t, lr)
		if got := strings.Join(lines, " "); got != c.want || err != io.EOF || end != int64(len(c.in)) {
			t.Errorf("%q: %s, %v at %d; want %s, EOF at %d", c.in, got, err, end, c.want, len(c.in))
		}
	}
}

// failingReader returns its data, then err.
type failingReader struct {
	data string
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestLineReaderError(t *testing.T) {
	boom := errors.New("boom")
	lr := scan.NewLineReader(bufio.NewReaderSize(&failingReader{"a\nbc", boom}, 16), 0)
	lines, end, err := readAll(t, lr)
	if strings.Join(lines, " ") != `1@0:"a"` || err != boom || end != 4 {
		t.Errorf("%v, %v at %d; want line a, then boom at 4", lines, err, end)
	}
}

func TestSniffKeys(t *testing.T) {
	for _, c := range []struct {
		head string
		want string
	}{
		{`{"ip":"192.0.2.1","data":{"x":[1,"}"]},"port":80,"n":null}`, `ip " data { port 8 n n`},
		{"\xEF\xBB\xBF \n{ \"a\" : [1,2] , \"b\":{", `a [ b {`},
		{`{"ip":"x","da`, `ip "`},               // cut inside a key
		{`{"ip":"x","data":"ab`, `ip " data "`}, // cut inside a value
		{`{"a\"b":1}`, `a\"b 1`},                // keys are not unescaped
		{`[{"a":1}]`, ``},
		{`{"a" 1, "b": 2}`, ``},
		{`{"stop":1,"after":2}`, `stop 1`},
	} {
		var got []string
		scan.SniffKeys([]byte(c.head), func(key string, first byte) bool {
			got = append(got, key, string(first))
			return key != "stop"
		})
		if strings.Join(got, " ") != c.want {
			t.Errorf("%q: %q, want %q", c.head, strings.Join(got, " "), c.want)
		}
	}
}

func TestSkipSpaceAndIsBlank(t *testing.T) {
	if i := scan.SkipSpace([]byte("\xEF\xBB\xBF \t\r\n{"), 0); i != 7 {
		t.Errorf("SkipSpace = %d, want 7", i)
	}
	if i := scan.SkipSpace([]byte("  "), 1); i != 2 {
		t.Errorf("SkipSpace = %d, want 2", i)
	}
	if !scan.IsBlank([]byte(" \t\r\n")) || !scan.IsBlank(nil) || scan.IsBlank([]byte(" x ")) {
		t.Error("IsBlank")
	}
}
