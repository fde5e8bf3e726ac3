// SPDX-License-Identifier: Apache-2.0

// Package obslog is the binary encoding of Portolan's observation log, shared
// by the stores so that a log means the same everywhere (and could move from
// one store to another). An entry is a version byte, a uvarint count, then
// per observation its fields as varints and length-prefixed strings: compact,
// and several times faster to write and replay than JSON. A compressed entry
// (EncodeCompressed) is the byte Compressed, then a zstd frame holding an
// entry: the embedded store writes its batches so, a third or less of their
// size with banners and certificates; Decode reads both.
package obslog

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"portolan"
)

// Version is the format version, the first byte of every entry.
const Version = 1

// Compressed is the first byte of a compressed entry.
const Compressed = 2

// maxEntry bounds what a compressed entry may decompress to, so that a
// corrupt or hostile frame cannot claim gigabytes: a batch of 10,000
// observations is a few megabytes.
const maxEntry = 1 << 30

var (
	zstdOnce sync.Once
	zstdEnc  *zstd.Encoder
	zstdDec  *zstd.Decoder
)

// codec returns the zstd encoder and decoder, made once: EncodeAll and
// DecodeAll may be called concurrently. The fastest level: an entry is
// compressed inside the import's transaction, where time is what counts,
// and it already takes an nmap file's entries to a quarter of their size.
func codec() (*zstd.Encoder, *zstd.Decoder) {
	zstdOnce.Do(func() {
		var err error
		if zstdEnc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1)); err != nil {
			panic(err) // only for invalid options
		}
		if zstdDec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxEntry)); err != nil {
			panic(err)
		}
	})
	return zstdEnc, zstdDec
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendObservation appends the encoding of one normalised observation to b
// (an entry under construction: see Encode).
func AppendObservation(b []byte, o *portolan.Observation) []byte {
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
	// The DER's bytes as they are: string(o.Certificate) would copy them.
	b = binary.AppendUvarint(b, uint64(len(o.Certificate)))
	b = append(b, o.Certificate...)
	b = binary.AppendUvarint(b, uint64(len(o.Hostnames)))
	for _, h := range o.Hostnames {
		b = appendString(b, h)
	}
	return b
}

// EncodedLen is the length of AppendObservation's encoding of o.
func EncodedLen(o *portolan.Observation) int {
	n := stringLen(o.Host) + stringLen(string(o.Protocol)) + uvarintLen(uint64(o.Port)) + stringLen(string(o.Status)) +
		varintLen(o.SeenAt.Unix()) + varintLen(o.ScannedAt.Unix()) +
		stringLen(o.Source) + stringLen(o.ScanProtocol) + stringLen(o.Banner) + uvarintLen(uint64(len(o.Components)))
	for _, c := range o.Components {
		n += stringLen(c.Name) + stringLen(c.Version) + stringLen(c.Category)
	}
	n += uvarintLen(uint64(len(o.Certificate))) + len(o.Certificate) + uvarintLen(uint64(len(o.Hostnames)))
	for _, h := range o.Hostnames {
		n += stringLen(h)
	}
	return n
}

func stringLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

// uvarintLen is the length of binary.AppendUvarint's encoding of x: seven
// bits a byte, at least one byte.
func uvarintLen(x uint64) int { return max(1, (bits.Len64(x)+6)/7) }

// varintLen is the length of binary.AppendVarint's encoding of x (zig-zag).
func varintLen(x int64) int { return uvarintLen(uint64(x<<1) ^ uint64(x>>63)) }

// ErrCorrupt is returned for an entry that does not decode.
var ErrCorrupt = errors.New("obslog: corrupt observation log entry")

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
		d.err = ErrCorrupt
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
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *logDecoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = ErrCorrupt
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

// EncodeCompressed returns the compressed entry holding the given
// observations.
func EncodeCompressed(obs []*portolan.Observation) []byte {
	enc, _ := codec()
	plain := Encode(obs)
	return enc.EncodeAll(plain, append(make([]byte, 0, len(plain)/3), Compressed))
}

// Decode returns the observations of one entry, compressed or not.
func Decode(blob []byte) ([]*portolan.Observation, error) {
	if len(blob) > 0 && blob[0] == Compressed {
		_, dec := codec()
		plain, err := dec.DecodeAll(blob[1:], nil)
		if err != nil || len(plain) == 0 || plain[0] != Version {
			return nil, ErrCorrupt
		}
		blob = plain
	}
	if len(blob) == 0 || blob[0] != Version {
		return nil, ErrCorrupt
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

// DecodeObservation returns the one observation AppendObservation wrote as
// b, all of it: for files that frame observations one by one (ingest's
// sorted runs).
func DecodeObservation(b []byte) (*portolan.Observation, error) {
	d := &logDecoder{b: b}
	o := d.observation()
	if d.err != nil || len(d.b) != 0 {
		return nil, ErrCorrupt
	}
	return o, nil
}

// Encode returns the entry holding the given observations.
func Encode(obs []*portolan.Observation) []byte {
	// Sized exactly: an entry of banners and certificates is megabytes, and
	// growing it by appending copied it a dozen times (6% of the CPU of an
	// nmap file's ingest).
	return Append(make([]byte, 0, Size(obs)), obs)
}

// Size is the length of obs's entry, as Encode writes it.
func Size(obs []*portolan.Observation) int {
	size := 1 + uvarintLen(uint64(len(obs)))
	for _, o := range obs {
		size += EncodedLen(o)
	}
	return size
}

// Append appends obs's entry, as Encode writes it, to b.
func Append(b []byte, obs []*portolan.Observation) []byte {
	b = append(b, Version)
	b = binary.AppendUvarint(b, uint64(len(obs)))
	for _, o := range obs {
		b = AppendObservation(b, o)
	}
	return b
}
