package extract

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"sluice/record"
)

// MurmurHash3 x86_32 against the published test vectors; the same values
// came out of a separate Python implementation written from the algorithm's
// description.
func TestMurmur3(t *testing.T) {
	for _, tc := range []struct {
		in   string
		seed uint32
		want uint32
	}{
		{"", 0, 0},
		{"", 1, 0x514e28b7},
		{"\x00\x00\x00\x00", 0, 0x2362f9de},
		{"aaaa", 0x9747b28c, 0x5a97808a},
		{"Hello, world!", 0x9747b28c, 0x24884cba},
		{"The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd},
		{"Hello, world!", 0, 0xc0363e43},
	} {
		if got := murmur3([]byte(tc.in), tc.seed); got != tc.want {
			t.Errorf("murmur3(%q, %#x) = %#x; want %#x", tc.in, tc.seed, got, tc.want)
		}
	}
}

// sha256 and md5 in hex against known digests; mmh3 by the favicon
// convention (base64 with a line break every 76 characters and at the end,
// then murmur3, signed). The mmh3 value was computed apart from Go, with
// Python's base64.encodebytes and a Python murmur3.
func TestHashes(t *testing.T) {
	got := hashes([]string{"sha256", "md5"}, []byte("abc"))
	if len(got) != 2 || got[0].Hex != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" ||
		got[1].Hex != "900150983cd24fb0d6963f7d28e17f72" {
		t.Errorf("hashes(abc) = %+v", got)
	}
	favicon := bytes.Repeat(func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}(), 3)
	b64 := faviconBase64(favicon)
	if len(b64) != 1038 || !bytes.HasSuffix(b64, []byte("\n")) || bytes.Index(b64, []byte("\n")) != 76 {
		t.Errorf("faviconBase64: %d bytes, first break at %d; want 1038, 76, ending in a break", len(b64), bytes.Index(b64, []byte("\n")))
	}
	mm := hashes([]string{"mmh3"}, favicon)
	if len(mm) != 1 || mm[0].Int == nil || *mm[0].Int != 1836528006 {
		t.Errorf("mmh3 of the favicon = %+v; want 1836528006", mm)
	}
	neg := hashes([]string{"mmh3"}, []byte("x")) // signed, as Shodan writes it
	if *neg[0].Int < -1<<31 || *neg[0].Int >= 1<<31 {
		t.Errorf("mmh3 = %d; want a signed 32-bit value", *neg[0].Int)
	}
}

func TestParseHashList(t *testing.T) {
	got, err := ParseHashList(" mmh3,SHA256,mmh3 ")
	if err != nil || strings.Join(got, ",") != "sha256,mmh3" {
		t.Errorf("ParseHashList = %v, %v; want [sha256 mmh3]", got, err)
	}
	if _, err := ParseHashList("sha1"); err == nil || !strings.Contains(err.Error(), "sha1") {
		t.Errorf("ParseHashList(sha1) = %v; want an error naming it", err)
	}
}

// The extract stage writes the hashes of the body read, and drops the body
// unless --body asked for it.
func TestExtractHashes(t *testing.T) {
	e := NewExtractor(Config{Hashes: []string{"sha256", "md5", "mmh3"}})
	r := &record.Record{Seq: 1, URL: "http://a.test/", Response: record.Response{Status: 200, ContentType: "text/plain", Body: []byte("abc")}}
	e.Extract(context.Background(), r)
	line := string(record.NewEncoder().AppendLine(r))
	want := `"hash":{"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","md5":"900150983cd24fb0d6963f7d28e17f72","mmh3":`
	if !strings.Contains(line, want) || r.Body != nil {
		t.Errorf("line = %s, body %q; want %s… and no body", line, r.Body, want)
	}
}
