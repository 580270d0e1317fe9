// Package apikey implements the merchant API key format of the checkout
// platform.
//
// A key looks like a GitHub token: a fixed prefix, 256 bits from crypto/rand
// and a checksum, so that typos are caught without a database round trip and
// secret scanners can recognise leaked keys with a precise pattern:
//
//	cmk_<43 base62 chars: 32 random bytes, big-endian, zero padded><6 base62 chars: CRC32>
//
// The base62 alphabet is 0-9A-Za-z in that order. The checksum is the CRC32
// (IEEE) of everything before it, prefix included, written as a fixed-width
// base62 number. Every key is 53 characters and matches [Pattern]:
//
//	^cmk_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$
//
// The widths are the smallest that fit any value: 62^42 < 2^256 < 62^43 and
// 62^5 < 2^32 < 62^6.
//
// Only [Key.Hash] (with [HashVersion]) and [Key.DisplayPrefix] should be
// stored; the secret is shown to the merchant once. A [Key] formats and logs
// as its masked display prefix so it cannot leak through fmt or log/slog.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math/bits"
	"strconv"
	"strings"
)

// Prefix starts every key.
const Prefix = "cmk_"

// Pattern is the exact regular expression for a well-formed key. Parse
// accepts a string if and only if it matches Pattern and its checksum is
// correct. That includes bodies above 2^256-1, which Generate never produces:
// Parse only screens out typos and foreign tokens, and a key is genuine only
// if its hash is stored.
const Pattern = "^cmk_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$"

// HashVersion identifies the scheme behind [Key.Hash]: version 1 is the
// lower-case hex SHA-256 of the full key string. Store it beside the hash so
// the scheme can be changed later and old rows recognised and migrated.
//
// A fast unsalted hash is enough because keys carry 256 random bits, so
// brute force is out of reach; it also makes the hash usable as a lookup key.
const HashVersion = 1

const (
	alphabet    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	randBytes   = 32
	randLen     = 43 // 62^43 > 2^256 > 62^42
	sumLen      = 6  // 62^6 > 2^32 > 62^5
	bodyLen     = len(Prefix) + randLen
	keyLen      = bodyLen + sumLen
	displayLen  = len(Prefix) + 4
	mask        = "••••"
	pow62to10   = 839299365868340224 // 62^10, the largest power of 62 below 2^64
	chunkDigits = 10
)

// Parse errors. They never contain the input, which is a secret.
var (
	ErrPrefix   = errors.New("apikey: wrong prefix")
	ErrLength   = errors.New("apikey: wrong length")
	ErrAlphabet = errors.New("apikey: character outside the base62 alphabet")
	ErrChecksum = errors.New("apikey: checksum mismatch")
)

// Key is a parsed or generated API key. The zero Key is not a valid key: its
// Secret, Hash and DisplayPrefix are empty.
//
// The secret sits behind a pointer so that fmt, when it cannot call Format
// (a Key in an unexported struct field), prints an address rather than the
// key. As a consequence == compares identity; compare Hash values instead.
type Key struct {
	s *string
}

// Generate returns a new key drawn from crypto/rand.
func Generate() (Key, error) {
	return GenerateFrom(rand.Reader)
}

// GenerateFrom returns the key encoding the next 32 bytes of r. It exists for
// deterministic tests; production code should call Generate.
func GenerateFrom(r io.Reader) (Key, error) {
	var b [randBytes]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Key{}, fmt.Errorf("apikey: reading random bytes: %w", err)
	}
	var buf [keyLen]byte
	copy(buf[:], Prefix)
	encode256(buf[len(Prefix):bodyLen], &b)
	encodeSum(buf[bodyLen:], checksum(buf[:bodyLen]))
	return newKey(string(buf[:])), nil
}

// Parse validates s and returns it as a Key. Checks run in the order prefix,
// length, alphabet, checksum, so the error names the first problem found;
// the first two are constant time, which bounds the work on huge inputs.
func Parse(s string) (Key, error) {
	if !strings.HasPrefix(s, Prefix) {
		return Key{}, ErrPrefix
	}
	if len(s) != keyLen {
		return Key{}, ErrLength
	}
	var sum uint64
	for i := len(Prefix); i < keyLen; i++ {
		d := decodeTable[s[i]]
		if d < 0 {
			return Key{}, ErrAlphabet
		}
		if i >= bodyLen {
			sum = sum*62 + uint64(d)
		}
	}
	// Six digits can exceed 2^32; comparing as uint64 rejects those too.
	if sum != uint64(checksum(s[:bodyLen])) {
		return Key{}, ErrChecksum
	}
	return newKey(s), nil
}

// newKey copies the string header to the heap; taking &s in Parse instead
// would move s to the heap on entry, making rejections allocate too.
func newKey(s string) Key {
	p := new(string)
	*p = s
	return Key{p}
}

// Secret returns the full key. Show it to the merchant once; never store or
// log it.
func (k Key) Secret() string {
	if k.s == nil {
		return ""
	}
	return *k.s
}

// Hash returns the lower-case hex SHA-256 of the full key (see
// [HashVersion]), the value to store and look keys up by.
func (k Key) Hash() string {
	if k.s == nil {
		// Not sha256(""): a missing key must not match a stored row.
		return ""
	}
	sum := sha256.Sum256([]byte(*k.s))
	return hex.EncodeToString(sum[:])
}

// DisplayPrefix returns the prefix and the first four random characters
// (e.g. "cmk_AbCd"), which identify a key in list views without revealing it.
func (k Key) DisplayPrefix() string {
	if k.s == nil {
		return ""
	}
	return (*k.s)[:displayLen]
}

// Mask returns prefix followed by a mask, e.g. "cmk_AbCd••••", for showing a
// stored [Key.DisplayPrefix].
func Mask(prefix string) string {
	return prefix + mask
}

// String returns the masked display prefix, never the secret.
func (k Key) String() string {
	return Mask(k.DisplayPrefix())
}

// GoString returns the masked form for %#v.
func (k Key) GoString() string {
	return "apikey.Key(" + strconv.Quote(k.String()) + ")"
}

// Format makes every verb, not just %v and %s, print the masked form; without
// it %d or %x would print the struct and its field.
func (k Key) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, k.GoString())
		return
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), k.String())
}

// LogValue makes log/slog record the masked form.
func (k Key) LogValue() slog.Value {
	return slog.StringValue(k.String())
}

var decodeTable = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := range len(alphabet) {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// encode256 writes the 256-bit big-endian number b as randLen base62 digits.
// It divides by 62^10 so that most of the work is on single words.
func encode256(dst []byte, b *[randBytes]byte) {
	n := [4]uint64{
		binary.BigEndian.Uint64(b[0:]),
		binary.BigEndian.Uint64(b[8:]),
		binary.BigEndian.Uint64(b[16:]),
		binary.BigEndian.Uint64(b[24:]),
	}
	i := randLen
	for range randLen / chunkDigits {
		var r uint64
		for j := range n {
			n[j], r = bits.Div64(r, n[j], pow62to10)
		}
		for range chunkDigits {
			i--
			dst[i] = alphabet[r%62]
			r /= 62
		}
	}
	// What remains is below 2^256/62^40 < 62^3, so it is all in n[3] and
	// fills exactly the last randLen%10 digits.
	r := n[3]
	for i > 0 {
		i--
		dst[i] = alphabet[r%62]
		r /= 62
	}
}

func encodeSum(dst []byte, sum uint32) {
	v := uint64(sum)
	for i := sumLen - 1; i >= 0; i-- {
		dst[i] = alphabet[v%62]
		v /= 62
	}
}

// checksum is CRC32 (IEEE). It is generic rather than crc32.ChecksumIEEE
// because converting Parse's string to []byte would allocate on every call.
func checksum[T string | []byte](s T) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}
