package extract

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strings"

	"sluice/record"
)

// HashNames are the hashes --hash knows, in the order they are written.
var HashNames = []string{"sha256", "md5", "mmh3"}

// ParseHashList reads --hash's comma-separated list, keeping HashNames'
// order and each name once.
func ParseHashList(list string) ([]string, error) {
	want := map[string]bool{}
	for _, item := range strings.Split(list, ",") {
		switch name := strings.ToLower(strings.TrimSpace(item)); name {
		case "":
		case "sha256", "md5", "mmh3":
			want[name] = true
		default:
			return nil, fmt.Errorf("unknown hash %q (want sha256, md5, mmh3)", strings.TrimSpace(item))
		}
	}
	var names []string
	for _, n := range HashNames {
		if want[n] {
			names = append(names, n)
		}
	}
	return names, nil
}

// hashes computes the named hashes of body (the body read, at most
// --max-body): sha256 and md5 in hex, mmh3 as the favicon hash of Shodan
// and httpx.
func hashes(names []string, body []byte) []record.Hash {
	out := make([]record.Hash, 0, len(names))
	for _, n := range names {
		h := record.Hash{Name: n}
		switch n {
		case "sha256":
			sum := sha256.Sum256(body)
			h.Hex = hex.EncodeToString(sum[:])
		case "md5":
			sum := md5.Sum(body)
			h.Hex = hex.EncodeToString(sum[:])
		case "mmh3":
			v := int64(int32(murmur3(faviconBase64(body), 0)))
			h.Int = &v
		}
		out = append(out, h)
	}
	return out
}

// faviconBase64 is body in base64 with a line break after every 76
// characters and at the end, as Python's base64.encodebytes writes it: the
// form the favicon-hash convention hashes.
func faviconBase64(body []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(body)
	out := make([]byte, 0, len(enc)+len(enc)/76+1)
	for len(enc) > 76 {
		out = append(append(out, enc[:76]...), '\n')
		enc = enc[76:]
	}
	return append(append(out, enc...), '\n')
}

// murmur3 is MurmurHash3's x86 32-bit hash of data with seed.
func murmur3(data []byte, seed uint32) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	h := seed
	n := len(data)
	for len(data) >= 4 {
		k := binary.LittleEndian.Uint32(data)
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
		data = data[4:]
	}
	var k uint32
	switch len(data) {
	case 3:
		k ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(data[0])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}
	h ^= uint32(n)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
