package cache

import (
	"encoding/binary"
	"errors"
	"net/http"
	"time"
)

// An entry's encoding, after its stamp: a version byte, then uvarints and
// length-prefixed strings: status, truncated (0 or 1), request and
// response times (Unix nanoseconds), the body's length and SHA-256 (32
// bytes), the Vary key, and the header fields (count; then each name, its
// count of values and the values). The body is kept apart.
const version = 1

func encodeStored(b []byte, s *Stored) []byte {
	b = append(b, version)
	b = binary.AppendUvarint(b, uint64(s.Status))
	truncated := uint64(0)
	if s.Truncated {
		truncated = 1
	}
	b = binary.AppendUvarint(b, truncated)
	b = binary.AppendUvarint(b, uint64(s.Requested.UnixNano()))
	b = binary.AppendUvarint(b, uint64(s.Received.UnixNano()))
	b = binary.AppendUvarint(b, uint64(s.Length))
	b = append(b, s.Sum[:]...)
	b = appendString(b, s.Vary)
	b = binary.AppendUvarint(b, uint64(len(s.Header)))
	for k, vs := range s.Header {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errDamaged = errors.New("damaged entry")

// decodeStored reads an entry but its body; the result shares nothing with b.
func decodeStored(b []byte) (*Stored, error) {
	d := decoder{b: b}
	if len(b) == 0 || b[0] != version {
		return nil, errDamaged
	}
	d.b = d.b[1:]
	s := &Stored{Status: int(d.uint()), Truncated: d.uint() == 1}
	s.Requested = time.Unix(0, int64(d.uint()))
	s.Received = time.Unix(0, int64(d.uint()))
	s.Length = int64(d.uint())
	if len(d.b) < len(s.Sum) {
		return nil, errDamaged
	}
	d.b = d.b[copy(s.Sum[:], d.b):]
	s.Vary = d.string()
	n := d.uint()
	if n > uint64(len(d.b)) {
		return nil, errDamaged
	}
	s.Header = make(http.Header, n)
	for range n {
		k := d.string()
		m := d.uint()
		if m > uint64(len(d.b)) {
			return nil, errDamaged
		}
		vs := make([]string, 0, m)
		for range m {
			vs = append(vs, d.string())
		}
		s.Header[k] = vs
	}
	if d.bad || len(d.b) != 0 {
		return nil, errDamaged
	}
	return s, nil
}

type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
