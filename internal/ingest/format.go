// SPDX-License-Identifier: Apache-2.0

package ingest

import (
	"bufio"
	"bytes"
	"io"
	"time"

	"portolan"
	"portolan/internal/ingest/httpx"
	"portolan/internal/ingest/masscan"
	"portolan/internal/ingest/naabu"
	"portolan/internal/ingest/native"
	"portolan/internal/ingest/nmap"
	"portolan/internal/ingest/shodan"
	"portolan/internal/ingest/zgrab2"
	"portolan/internal/ingest/zmap"
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
// writes XML with an nmaprun root, so it is tried before nmap). Formats
// added later go last, so that the list --format shows keeps its order.
var formats = []format{
	{"native", native.Sniff, func(r io.Reader, _ Options) (portolan.ObservationReader, func() string, error) {
		return native.NewReader(r, 0), noNote, nil
	}},
	{"masscan", masscan.Sniff, func(r io.Reader, o Options) (portolan.ObservationReader, func() string, error) {
		at, from := o.timeOfUntimed()
		mr := masscan.NewReader(r, masscan.Options{Time: at})
		return mr, func() string {
			if mr.UsedTime() {
				return "lines without a time: " + from + " was used as their time"
			}
			return ""
		}, nil
	}},
	{"nmap", sniffNmap, openNmap},
	{"zgrab2", zgrab2.Sniff, func(r io.Reader, o Options) (portolan.ObservationReader, func() string, error) {
		return zgrab2.NewReader(r, zgrab2.Options{Port: o.Port, ModulePorts: o.ModulePorts}), noNote, nil
	}},
	{"shodan", shodan.Sniff, func(r io.Reader, _ Options) (portolan.ObservationReader, func() string, error) {
		return shodan.NewReader(r, shodan.Options{}), noNote, nil
	}},
	{"zmap", zmap.Sniff, func(r io.Reader, o Options) (portolan.ObservationReader, func() string, error) {
		at, from := o.timeOfUntimed()
		zr := zmap.NewReader(r, zmap.Options{Port: o.Port, ModTime: at})
		note := func() string {
			if zr.UsedModTime() {
				return "no timestamp fields: " + from + " was used as the time of every observation"
			}
			return ""
		}
		return zr, note, nil
	}},
	{"naabu", naabu.Sniff, func(r io.Reader, _ Options) (portolan.ObservationReader, func() string, error) {
		return naabu.NewReader(r, naabu.Options{}), noNote, nil
	}},
	{"httpx", httpx.Sniff, func(r io.Reader, _ Options) (portolan.ObservationReader, func() string, error) {
		return httpx.NewReader(r, httpx.Options{}), noNote, nil
	}},
}

// sniffNmap recognises both of nmap's formats read: -oX and -oG.
func sniffNmap(head []byte) bool { return nmap.Sniff(head) || nmap.SniffGrepable(head) }

// openNmap picks nmap's XML or grepable reader from the first bytes of r.
func openNmap(r io.Reader, o Options) (portolan.ObservationReader, func() string, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	head, _ := br.Peek(sniffBytes)
	if !nmap.SniffGrepable(head) {
		return nmap.NewReader(br), noNote, nil
	}
	at, from := o.timeOfUntimed()
	gr := nmap.NewGrepableReader(br, nmap.GrepableOptions{Time: at})
	return gr, func() string {
		if gr.UsedTime() {
			return "host lines without a scan date: " + from + " was used as their time"
		}
		return ""
	}, nil
}

// timeOfUntimed is the instant of records without one, and how the note
// names it: --scanned-at when given, else the file's modification time
// (which says so, since a copied file has the copy's time).
func (o Options) timeOfUntimed() (time.Time, string) {
	if !o.ScannedAt.IsZero() {
		return o.ScannedAt, "--scanned-at " + o.ScannedAt.UTC().Format(time.RFC3339)
	}
	if o.ModTime.IsZero() {
		return o.ModTime, ""
	}
	return o.ModTime, "the file's modification time " + o.ModTime.UTC().Format(time.RFC3339) + " (give the scan's time with --scanned-at)"
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

// notReadable names output Portolan does not read but a user may well have
// at hand, and what to give instead, for the error of a file whose format
// is unknown; "" when head is none of them.
func notReadable(head []byte) string {
	// nmap's normal output (-oN, or what it prints on a terminal) is for
	// people: its tables drop what the other outputs keep (times per host,
	// script structure), so it is pointed at them rather than parsed.
	first, _, _ := bytes.Cut(head, []byte("\n"))
	nmapHeader := bytes.HasPrefix(first, []byte("# Nmap ")) || bytes.HasPrefix(first, []byte("Starting Nmap "))
	if nmapHeader && (bytes.Contains(head, []byte("\nNmap scan report for ")) || bytes.Contains(head, []byte("\nNmap done: "))) {
		return "it is nmap's normal output (-oN), written for people; ingest the XML (-oX) or grepable (-oG) output of the scan instead (-oA writes all three)"
	}
	return ""
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
