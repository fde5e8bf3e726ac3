// SPDX-License-Identifier: Apache-2.0

package scan_test

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"portolan"
	"portolan/internal/ingest/scan"
)

// tokenTrace describes data's tokens as next returns them, up to the first
// error, which ends the trace: kinds and local names (prefixes are the
// guard's as written and encoding/xml's as translated), text, and the error
// with its line.
func tokenTrace(next func() (xml.Token, error)) []string {
	var trace []string
	for {
		tok, err := next()
		if err != nil {
			return append(trace, "error: "+err.Error())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			s := "<" + t.Name.Local
			for _, a := range t.Attr {
				s += " " + a.Name.Local + "=" + a.Value
			}
			trace = append(trace, s+">")
		case xml.EndElement:
			trace = append(trace, "</"+t.Name.Local+">")
		default:
			trace = append(trace, fmt.Sprintf("%T %q", t, fmt.Sprint(t)))
		}
	}
}

// checkLikeDecoder requires the guard's tokens and errors to be those of
// xml.Decoder.Token over the same bytes, when the guard refuses nothing:
// RawToken and the guard's own matching of end tags must add up to Token.
func checkLikeDecoder(t *testing.T, data []byte) {
	t.Helper()
	g := scan.NewXMLGuard("test", bufio.NewReader(bytes.NewReader(data)), 1<<20, 1<<30)
	got := tokenTrace(g.Token)
	var refused *portolan.InputError
	if last := got[len(got)-1]; strings.HasPrefix(last, "error: ") {
		_, err := g.Token()
		if errors.As(err, &refused) {
			return // a refusal of the guard's, which encoding/xml lacks
		}
	}
	want := tokenTrace(xml.NewDecoder(bytes.NewReader(data)).Token)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("guard:\n%s\nencoding/xml:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// guardDecoderCases are inputs on which the guard's own matching of end
// tags might part from encoding/xml's.
var guardDecoderCases = []string{
	"<a><b></b></a>",
	"<a>\n<b>\n</a>",
	"<a></a></b>",
	"</a>",
	"<a><b>",
	"<a>\n\n<b>text",
	"<x:a></x:a>",
	"<x:a></y:a>",
	"<x:a>\n</a>",
	"<a></x:a>",
	"<a/><b/>",
	"<?xml version=\"1.0\"?>\n<!DOCTYPE a>\n<!-- c --><a b='1' c=\"&amp;&#xa;\"><![CDATA[<>]]>t&lt;</a>",
	"<a><b>&nbsp;</b></a>",
	"<a>\x00</a>",
	"<a b=1></a>",
	"",
}

func TestXMLGuardTokensAreDecoderTokens(t *testing.T) {
	for i, c := range guardDecoderCases {
		t.Run(fmt.Sprint("case", i), func(t *testing.T) { checkLikeDecoder(t, []byte(c)) })
	}
	files, _ := filepath.Glob(filepath.Join("..", "*", "testdata", "*.xml"))
	if len(files) == 0 {
		t.Fatal("no XML testdata found")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkLikeDecoder(t, data)
		})
	}
}

// TestXMLGuardSmallReads checks the guard's own buffering over a reader
// that hands out one byte at a time and one that fails midway.
func TestXMLGuardSmallReads(t *testing.T) {
	doc := "<a>\n<b x='1'>text</b>\n</a>"
	g := scan.NewXMLGuard("test", bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(doc)), 16), 0, 0)
	got := tokenTrace(g.Token)
	want := tokenTrace(xml.NewDecoder(strings.NewReader(doc)).Token)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("guard:\n%s\nencoding/xml:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	broken := errors.New("disk on fire")
	g = scan.NewXMLGuard("test", bufio.NewReader(io.MultiReader(strings.NewReader("<a>\n<b>"), iotest.ErrReader(broken))), 0, 0)
	err := drain(g)
	if !errors.Is(err, broken) || !strings.Contains(err.Error(), "read at byte 7") {
		t.Fatalf("error %v, want the read error at byte 7", err)
	}
}

// FuzzXMLGuard holds the guard to encoding/xml's Token on arbitrary input:
// the same tokens, and the same error (message and line) where the guard
// does not refuse the input itself. Namespace declarations are left out:
// the guard compares prefixes as written, encoding/xml what they stand for.
func FuzzXMLGuard(f *testing.F) {
	for _, c := range guardDecoderCases {
		f.Add([]byte(c))
	}
	files, _ := filepath.Glob(filepath.Join("..", "*", "testdata", "*.xml"))
	for _, path := range files {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(data, []byte("xmlns")) {
			t.Skip("namespace declarations")
		}
		checkLikeDecoder(t, data)
	})
}
