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
	"reflect"
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
// the guard's tokenizer and its own matching of end tags must add up to
// Token. The errors compare whole, message and line. The tokens must also
// be RawToken's, value for value (prefixes as written, an empty Attr slice
// where there are none), and the guard must say the same when its input
// comes a byte per read, its buffer refilled at every byte.
func checkLikeDecoder(t *testing.T, data []byte) {
	t.Helper()
	g := scan.NewXMLGuard("test", bufio.NewReader(bytes.NewReader(data)), 1<<20, 1<<30)
	var toks []xml.Token
	got := tokenTrace(func() (xml.Token, error) {
		tok, err := g.Token()
		if err == nil {
			toks = append(toks, xml.CopyToken(tok))
		}
		return tok, err
	})
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
	raw := xml.NewDecoder(bytes.NewReader(data))
	for i, tok := range toks {
		want, err := raw.RawToken()
		if err != nil || !reflect.DeepEqual(tok, xml.CopyToken(want)) {
			t.Fatalf("token %d: guard %#v, RawToken %#v, %v", i, tok, want, err)
		}
	}
	slow := scan.NewXMLGuard("test", bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(data)), 16), 1<<20, 1<<30)
	if slowGot := tokenTrace(slow.Token); strings.Join(slowGot, "\n") != strings.Join(got, "\n") {
		t.Fatalf("a byte per read:\n%s\nall at once:\n%s", strings.Join(slowGot, "\n"), strings.Join(got, "\n"))
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
	// Character data and references.
	"<a>&lt;&gt;&amp;&apos;&quot;&#65;&#x42;&#X43;&#0065;&#x10FFFF;&#xD800;</a>",
	"<a>&#0;</a>", "<a>&#x110000;</a>", "<a>&#99999999999999999999999;</a>", "<a>&#;</a>", "<a>&#x;</a>",
	"<a>&#12a;</a>", "<a>&#xg;</a>", "<a>&;</a>", "<a>& b</a>", "<a>&lt</a>", "<a>&lt", "<a>&#", "<a>&#x1",
	"<a>&unknown;</a>", "<a>&é;</a>", "<a>\n&amp;\nb\n&bad\n</a>",
	"<a>x\r\ny\rz\r\r\n</a>", "<a b='x\r\ny\r'>\r</a>", "<a>\r", "<a>&amp;\r\n</a>",
	"<a>]]></a>", "<a>]&amp;]></a>", "<a>]]&gt;</a>", "<a>]\r]></a>", "<a b=']]>'/>",
	"<a><![CDATA[x]]]]><![CDATA[>]]></a>", "<a><![CDATA[\r\n&amp;<]]></a>", "<a><![CDATA[x", "<a><![CDAT[x]]></a>",
	"<a>\xff</a>", "<a>\xc3</a>", "<a>\xed\xa0\x80</a>", "<a>\xef\xbf\xbe</a>", "<a>é\x01</a>", "<a>\x01&bad;</a>",
	"<a b='\xff'/>", "<a b='\x01", "<a b='é'>ü</a>", "<a>\t\x7f</a>",
	// Tags and attributes.
	"<a b='1'c=\"2\" d = '3' b='4'></a>", "<a b='<'/>", "<a b=\"'\" c='\"'/>", "<a b/>", "<a b=/>", "<a b='1' /x>",
	"<a/ >", "< a/>", "<1a/>", "<a:b:c/>", "<:a/>", "<a:/>", "<x:a y:b='1' :c='2' d:='3'></x:a>", "<a></a >",
	"</a b>", "</>", "</1>", "<a></a", "<a", "<a b", "<a b=", "<a b='1'", "<a b='1", "<", "<a>text",
	"<é/>", "<aé/>", "<a\xff/>", "<a·b/>", "<·a/>", "<a b\xff='1'/>", "<a>\n</b>", "<a.b-c_d:e/>",
	// Comments, instructions, directives.
	"<!-- a -- b -->", "<!-- a --->", "<!---->", "<!--->-->", "<!-x>", "<!--", "<!-- a -",
	"<?pi?>", "<?pi  data ?>", "<?pi data", "<??>", "<?1?>", "<?a:b:c x?>",
	"<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>", "<?xml version='1.1'?><a/>", "<?xml encoding='UTF-8'?><a/>",
	"<?xml version=\"1.0\" encoding=\"latin1\"?><a/>",
	"<!DOCTYPE a [<!ELEMENT a (#PCDATA)> <!-- c > --> <!ATTLIST a b CDATA '>'>]><a/>",
	"<!DOCTYPE a [<x>]><a/>", "<!DOCTYPE a [<!x>]><a/>", "<!DOCTYPE a [<!-x>]><a/>", "<!DOCTYPE a [<!--x", "<!DOCTYPE",
	"<!>", "<!>>", "<!'>'>", "<!<<>>>", "<!DOCTYPE a \"x><a/>",
	// Text around and between roots.
	"text<a/>text", "<a/><b/>", "  \n<a/>\n  ", "<a/>]]>",
}

func TestXMLGuardTokensAreDecoderTokens(t *testing.T) {
	for i, c := range guardDecoderCases {
		t.Run(fmt.Sprint("case", i), func(t *testing.T) { checkLikeDecoder(t, []byte(c)) })
	}
	// Every prefix of a document with something of everything: the input
	// may end anywhere.
	rich := "<?xml version=\"1.0\"?>\r\n<!DOCTYPE r [<!-- c -->]>\n<!-- c --><r a='1&amp;2' b=\"&#x41;\">\n" +
		"<x:e/>t&lt;\r\n<![CDATA[d]]><?p i?></r>\n"
	for i := range len(rich) {
		t.Run(fmt.Sprint("prefix", i), func(t *testing.T) { checkLikeDecoder(t, []byte(rich[:i])) })
	}
	// Tokens larger than the guard's buffer, and references across its
	// refills.
	big := strings.Repeat("0123456789abcdef&amp;\r\n", 20000)
	for name, doc := range map[string]string{
		"text":      "<a>" + big + "</a>",
		"attribute": "<a b='" + big + "'/>",
		"comment":   "<a><!--" + strings.Repeat("-x", 100000) + "--></a>",
		"cdata":     "<a><![CDATA[" + big + "]]></a>",
		"bad late":  "<a>" + big + "\x01</a>",
	} {
		t.Run(name, func(t *testing.T) { checkLikeDecoder(t, []byte(doc)) })
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
