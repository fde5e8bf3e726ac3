// SPDX-License-Identifier: Apache-2.0

package scan_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"portolan"
	"portolan/internal/ingest/scan"
)

// listLine is the LineFunc of the tests: a line is {"v": [strings]}; each
// string is a value, except "!", which is rejected, and a line without one
// is rejected whole.
func listLine(rs *scan.Records[string], d *scan.Decoder) {
	var vs []string
	if d.Object() {
		for d.Next() {
			if string(d.Key()) != "v" {
				d.Skip()
				continue
			}
			if d.Array() {
				for d.Elem() {
					vs = append(vs, d.Str())
				}
			}
		}
	}
	d.End()
	if d.Err() != nil {
		rs.Reject("%v", d.Err())
		return
	}
	if len(vs) == 0 {
		rs.Reject("no values")
	}
	for _, v := range vs {
		if v == "!" {
			rs.Reject("value %q is not wanted", v)
			continue
		}
		rs.Emit(v)
	}
}

// readRecords returns what Read returns, one string each: the value, or
// the record error with its line and offset, until the error that ends the
// input, which it returns.
func readRecords(rs *scan.Records[string]) ([]string, error) {
	var got []string
	for {
		v, err := rs.Read()
		switch ie := portolan.RecordError(err); {
		case ie != nil:
			got = append(got, fmt.Sprintf("%d@%d:%s", ie.Line, ie.Offset, ie.Reason))
		case err != nil:
			return got, err
		default:
			got = append(got, v)
		}
	}
}

func TestRecords(t *testing.T) {
	input := strings.Join([]string{
		`{"v":["a","b"]}`,     // line 1 at 0: two values
		``,                    // line 2 at 16: blank, skipped
		" \t\r",               // line 3 at 17: blank, skipped
		`{"v":["012345678"]}`, // line 4 at 21: longer than 16 bytes
		"{\"v\":[\"\xff\"]}",  // line 5 at 41: not UTF-8
		`{"v":1}`,             // line 6 at 53: does not decode
		`{"w":[[["x"]]]}`,     // line 7 at 61: deeper than 2
		`{"v":["c","!"]}`,     // line 8 at 77: a value, then a rejection
		`{"v":[]}`,            // line 9 at 93: rejected by the LineFunc
		`{"v":["d"]}`,         // line 10 at 102, without a line ending
	}, "\n")
	lr := scan.NewLineReader(bufio.NewReaderSize(strings.NewReader(input), 16), 16)
	rs := scan.NewRecords("test", lr, 2, listLine)
	got, err := readRecords(rs)
	want := []string{
		"a", "b",
		"4@21:the line is longer than 16 bytes",
		"5@41:the record is not valid UTF-8, which JSON requires",
		`6@53:"v" must be an array (byte 5)`,
		"7@61:the record nests deeper than 2 levels (byte 6)",
		"c",
		`8@77:value "!" is not wanted`,
		"9@93:no values",
		"d",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || err != io.EOF {
		t.Errorf("got\n%s\n%v\nwant\n%s\nEOF", strings.Join(got, "\n"), err, strings.Join(want, "\n"))
	}
	if v, err := rs.Read(); v != "" || err != io.EOF {
		t.Errorf("Read after EOF = %q, %v; want EOF again", v, err)
	}
}

// TestRecordsManyPerLine reads lines yielding more results than the queue
// keeps between lines: all come, in order.
func TestRecordsManyPerLine(t *testing.T) {
	var in strings.Builder
	var want []string
	for line, n := range []int{1, 1000, 3, 500, 1} {
		in.WriteString(`{"v":[`)
		for i := range n {
			v := fmt.Sprintf("%d.%d", line, i)
			if i > 0 {
				in.WriteByte(',')
			}
			fmt.Fprintf(&in, "%q", v)
			want = append(want, v)
		}
		in.WriteString("]}\n")
	}
	lr := scan.NewLineReader(bufio.NewReader(strings.NewReader(in.String())), 0)
	got, err := readRecords(scan.NewRecords("test", lr, 0, listLine))
	if strings.Join(got, " ") != strings.Join(want, " ") || err != io.EOF {
		t.Errorf("got %d results ending in %v, want %d and EOF", len(got), err, len(want))
	}
}

// TestRecordsReadError: the values read before the error come, then the
// error, wrapped with the name and where the input failed, for good.
func TestRecordsReadError(t *testing.T) {
	boom := errors.New("boom")
	lr := scan.NewLineReader(bufio.NewReaderSize(&failingReader{"{\"v\":[\"a\"]}\n{\"v\"", boom}, 16), 0)
	rs := scan.NewRecords("test", lr, 0, listLine)
	got, err := readRecords(rs)
	const want = "test: read at byte 16: boom"
	if strings.Join(got, " ") != "a" || err == nil || err.Error() != want || !errors.Is(err, boom) {
		t.Errorf("%v, then %v; want a, then %q wrapping boom", got, err, want)
	}
	if _, again := rs.Read(); again != err {
		t.Errorf("Read after the error = %v, want %v again", again, err)
	}
}
