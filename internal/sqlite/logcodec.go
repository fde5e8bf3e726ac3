// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"encoding/binary"
	"errors"
	"time"

	"portolan"
)

// The observation log stores each import's new observations as one blob:
// a version byte, then per observation its fields as varints and
// length-prefixed strings. One row per batch instead of one per observation
// keeps the log append cheap (the identity index alone answers "seen
// before?"), and replaying it for a rebuild is a sequential read.
const logCodecVersion = 1

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendObservation encodes one normalised observation.
func appendObservation(b []byte, o *portolan.Observation) []byte {
	b = appendString(b, o.Host)
	b = appendString(b, string(o.Protocol))
	b = binary.AppendUvarint(b, uint64(o.Port))
	b = appendString(b, string(o.Status))
	b = binary.AppendVarint(b, o.SeenAt.Unix())
	b = binary.AppendVarint(b, o.ScannedAt.Unix())
	b = appendString(b, o.Source)
	b = appendString(b, o.ScanProtocol)
	b = appendString(b, o.Banner)
	b = binary.AppendUvarint(b, uint64(len(o.Components)))
	for _, c := range o.Components {
		b = appendString(b, c.Name)
		b = appendString(b, c.Version)
		b = appendString(b, c.Category)
	}
	b = appendString(b, string(o.Certificate))
	b = binary.AppendUvarint(b, uint64(len(o.Hostnames)))
	for _, h := range o.Hostnames {
		b = appendString(b, h)
	}
	return b
}

var errCorruptLog = errors.New("sqlite: corrupt observation log entry")

// logDecoder reads observations back from a blob.
type logDecoder struct {
	b   []byte
	err error
}

func (d *logDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorruptLog
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *logDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorruptLog
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *logDecoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errCorruptLog
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *logDecoder) observation() *portolan.Observation {
	o := &portolan.Observation{}
	o.Host = d.string()
	o.Protocol = portolan.Protocol(d.string())
	o.Port = int(d.uvarint())
	o.Status = portolan.HostPortStatus(d.string())
	o.SeenAt = time.Unix(d.varint(), 0).UTC()
	o.ScannedAt = time.Unix(d.varint(), 0).UTC()
	o.Source = d.string()
	o.ScanProtocol = d.string()
	o.Banner = d.string()
	if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
		o.Components = make([]portolan.Component, n)
		for i := range o.Components {
			o.Components[i] = portolan.Component{Name: d.string(), Version: d.string(), Category: d.string()}
		}
	}
	if cert := d.string(); cert != "" {
		o.Certificate = []byte(cert)
	}
	if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
		o.Hostnames = make([]string, n)
		for i := range o.Hostnames {
			o.Hostnames[i] = d.string()
		}
	}
	return o
}

// decodeLog returns the observations of one log blob.
func decodeLog(blob []byte) ([]*portolan.Observation, error) {
	if len(blob) == 0 || blob[0] != logCodecVersion {
		return nil, errCorruptLog
	}
	d := &logDecoder{b: blob[1:]}
	n := d.uvarint()
	out := make([]*portolan.Observation, 0, min(n, uint64(len(blob))))
	for i := uint64(0); i < n && d.err == nil; i++ {
		out = append(out, d.observation())
	}
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}
