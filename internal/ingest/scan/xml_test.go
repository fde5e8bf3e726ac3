// SPDX-License-Identifier: Apache-2.0

package scan_test

import (
	"bufio"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"portolan"
	"portolan/internal/ingest/scan"
)

// drain reads g's tokens to the end and returns what Fatal makes of the
// error that stopped them, nil at io.EOF.
func drain(g *scan.XMLGuard) error {
	for {
		_, err := g.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return g.Fatal(err)
		}
	}
}

func newGuard(input string, maxDepth, maxBytes int) *scan.XMLGuard {
	return scan.NewXMLGuard("test", bufio.NewReader(strings.NewReader(input)), maxDepth, maxBytes)
}

// TestXMLGuard checks each bound, the words and position of its refusal,
// and that refusals are fatal InputErrors.
func TestXMLGuard(t *testing.T) {
	cases := []struct {
		name     string
		input    string
		maxDepth int
		maxBytes int
		want     string // the error, "" for none
	}{
		{"well-formed", "<a>\n<b x=\"1\">text</b><!-- c --></a>", 0, 0, ""},
		{"bare doctype", "<!DOCTYPE nmaprun>\n<a/>", 0, 0, ""},
		{"entity in a DTD", "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x \"y\">]>\n<a>&x;</a>", 0, 0,
			"test: line 2: XML entity declarations are refused (a billion-laughs file expands a few bytes into gigabytes)"},
		{"entity outside a DTD", "<!ENTITY x \"y\">\n<a/>", 0, 0, "test: line 1: XML entity declarations are refused"},
		{"at the depth limit", "<a><b><c/></b></a>", 3, 0, ""},
		{"past the depth limit", "<a><b>\n<c><d/></c></b></a>", 3, 0, "test: line 2: elements are nested more than 3 deep"},
		{"default depth limit", strings.Repeat("<a>", 65) + strings.Repeat("</a>", 65), 0, 0, "test: line 1: elements are nested more than 64 deep"},
		{"under the token limit", "<a>" + strings.Repeat("x", 9) + "</a>", 0, 10, ""},
		{"past the token limit", "<a>\n<b c=\"" + strings.Repeat("x", 20) + "\"/></a>", 0, 10, "test: line 2: an XML token starting here is larger than 10 bytes"},
		{"syntax", "<a>\n</b>", 0, 0, "test: line 2: XML syntax error: element <a> closed by </b>"},
		{"other encoding", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>", 0, 0, "test: line 1: xml: encoding \"ISO-8859-1\" declared but Decoder.CharsetReader is nil"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := drain(newGuard(c.input, c.maxDepth, c.maxBytes))
			if c.want == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			var ie *portolan.InputError
			if !errors.As(err, &ie) || !ie.Fatal || ie.Source != "test" || ie.Offset < 0 || ie.Offset > int64(len(c.input)) {
				t.Fatalf("error %#v, want a fatal InputError within the input", err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error %q, want %q", err, c.want)
			}
		})
	}
}

// TestXMLGuardHold checks that a held element is bounded as a whole, with
// its name and start in the error, and that tokens after Release get a
// budget each again.
func TestXMLGuardHold(t *testing.T) {
	port := "<port>" + strings.Repeat("x", 8) + "</port>"
	input := "<run>\n<host>" + strings.Repeat(port, 5) + "</host>" + strings.Repeat(port, 5) + "</run>"
	for _, hold := range []bool{false, true} {
		g := newGuard(input, 0, 64)
		var err error
		for {
			var tok xml.Token
			tok, err = g.Token()
			if err != nil {
				break
			}
			if s, ok := tok.(xml.StartElement); ok && s.Name.Local == "host" && hold {
				g.Hold()
			}
			if e, ok := tok.(xml.EndElement); ok && e.Name.Local == "host" {
				g.Release()
			}
		}
		switch got := g.Fatal(err); {
		case !hold && err != io.EOF:
			t.Errorf("without Hold: %v, want io.EOF", got)
		case hold && (got == nil || got.Error() != "test: line 2: the <host> element starting here is larger than 64 bytes"):
			t.Errorf("with Hold: %v", got)
		}
	}
}

// TestXMLGuardTruncated checks that an input cut short is told apart from
// other errors, and a failing reader from both.
func TestXMLGuardTruncated(t *testing.T) {
	g := newGuard("<a><b>", 0, 0)
	_, err := g.Token()
	for err == nil {
		_, err = g.Token()
	}
	if !g.Truncated(err) {
		t.Errorf("%v: not truncated", err)
	}

	boom := errors.New("disk on fire")
	g = scan.NewXMLGuard("test", bufio.NewReader(io.MultiReader(strings.NewReader("<a><b>"), iotest.ErrReader(boom))), 0, 0)
	err = drain(g)
	if !errors.Is(err, boom) || err.Error() != "test: read at byte 6: disk on fire" {
		t.Errorf("failing reader: %v", err)
	}
}

// TestXMLGuardResync checks what a reader does after a syntax error: the
// error is Recoverable with its position, Resync finds the next record's
// start tag (not a longer name that begins the same), the tokens after it
// carry the file's lines and offsets, and the root closes normally.
func TestXMLGuardResync(t *testing.T) {
	input := "<run>\n<host a=\"1\"><p>\x01</p></host>\n<hostnames/>\n<!-- <host -->\n<host b=\"2\"><p/></host>\n</run>\n"
	g := newGuard(input, 0, 0)
	var err error
	for err == nil {
		_, err = g.Token()
	}
	rec := g.Recoverable(err)
	if rec == nil || rec.Fatal || rec.Line != 2 || !strings.Contains(rec.Reason, "illegal character code U+0001") {
		t.Fatalf("Recoverable(%v) = %v, want a record error on line 2", err, rec)
	}
	found, err := g.Resync(2, "host")
	if found != "host" || err != nil {
		t.Fatalf("Resync = %q, %v", found, err)
	}
	var names []string
	for {
		tok, err := g.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after Resync: %v", g.Fatal(err))
		}
		if s, ok := tok.(xml.StartElement); ok {
			line, off := g.Pos()
			names = append(names, s.Name.Local)
			if s.Name.Local == "host" && (line != 5 || !strings.HasPrefix(input[off:], `<host b="2">`) || len(g.Open()) != 2) {
				t.Errorf("<host> after Resync at line %d, offset %d (%.12q), open %v", line, off, input[off:], g.Open())
			}
		}
	}
	if strings.Join(names, " ") != "host p" {
		t.Errorf("start tags after Resync: %v, want host p", names)
	}

	// Nothing to resume at, and errors that are not recoverable.
	g = newGuard("<run><host>\x01</host></run>", 0, 0)
	for err = nil; err == nil; _, err = g.Token() {
	}
	if found, err := g.Resync(2, "host"); found != "" || err != nil {
		t.Errorf("Resync at the end = %q, %v", found, err)
	}
	for _, input := range []string{"<run><host>", "<!DOCTYPE a [<!ENTITY x 'y'>]><a/>"} {
		g = newGuard(input, 0, 0)
		for err = nil; err == nil; _, err = g.Token() {
		}
		if rec := g.Recoverable(err); rec != nil {
			t.Errorf("%q: Recoverable(%v) = %v, want nil", input, err, rec)
		}
	}
}
