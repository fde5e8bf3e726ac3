// SPDX-License-Identifier: Apache-2.0

package ingest

import (
	"io"

	"portolan"
	"portolan/internal/ingest/native"
	"portolan/internal/ingest/nmap"
)

// format is one input format: how to recognise it and how to read it.
type format struct {
	name  string
	sniff func(head []byte) bool
	// open returns the reader and a function giving, after reading, a note
	// for the summary ("" for none).
	open func(r io.Reader, opts Options) (portolan.ObservationReader, func() string, error)
}

func noNote() string { return "" }

// formats in detection order: the most specific signatures first (masscan
// writes XML with an nmaprun root, so it is tried before nmap).
var formats = []format{
	{"native", native.Sniff, func(r io.Reader, _ Options) (portolan.ObservationReader, func() string, error) {
		return native.NewReader(r, 0), noNote, nil
	}},
	{"nmap", nmap.Sniff, func(r io.Reader, _ Options) (portolan.ObservationReader, func() string, error) {
		return nmap.NewReader(r), noNote, nil
	}},
}

// FormatNames lists the formats --format accepts, "auto" first.
func FormatNames() []string {
	names := []string{"auto"}
	for _, f := range formats {
		names = append(names, f.name)
	}
	return names
}

func formatByName(name string) (format, bool) {
	for _, f := range formats {
		if f.name == name {
			return f, true
		}
	}
	return format{}, false
}

// Detect returns the name of the format head looks like, or "".
func Detect(head []byte) string {
	for _, f := range formats {
		if f.sniff(head) {
			return f.name
		}
	}
	return ""
}
