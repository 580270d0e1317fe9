package apikey

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
)

var patternRE = regexp.MustCompile(Pattern)

// Known answers computed outside Go (Python: int.from_bytes, zlib.crc32).
var knownAnswers = []struct {
	name string
	in   []byte
	want string
}{
	{"zero", make([]byte, 32), "cmk_000000000000000000000000000000000000000000028L2Ke"},
	{"0..31", seq(32), "cmk_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf1ddcIK"},
	{"all 0xff", bytes.Repeat([]byte{0xff}, 32), "cmk_yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp145CZYO"},
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// refEncode is a deliberately naive fixed-width base62 encoder on math/big,
// independent of the code under test. big.Int.Text(62) is not usable: it puts
// lower case before upper case.
func refEncode(n *big.Int, width int) string {
	n = new(big.Int).Set(n)
	out := make([]byte, width)
	b62, r := big.NewInt(62), new(big.Int)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, b62, r)
		out[i] = alphabet[r.Int64()]
	}
	if n.Sign() != 0 {
		panic("refEncode: value does not fit")
	}
	return string(out)
}

func refDecode(s string) *big.Int {
	n := new(big.Int)
	for i := range len(s) {
		n.Mul(n, big.NewInt(62))
		n.Add(n, big.NewInt(int64(strings.IndexByte(alphabet, s[i]))))
	}
	return n
}

func refChecksum(body string) string {
	return refEncode(new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(body)))), 6)
}

// oracle is what Parse must return for s, derived from Pattern and hash/crc32
// alone.
func oracle(s string) error {
	switch {
	case !strings.HasPrefix(s, "cmk_"):
		return ErrPrefix
	case len(s) != 53:
		return ErrLength
	case !patternRE.MatchString(s):
		return ErrAlphabet
	case s[47:] != refChecksum(s[:47]):
		return ErrChecksum
	}
	return nil
}

func mustGenerate(t testing.TB) Key {
	t.Helper()
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestWidths(t *testing.T) {
	pow := func(b int64, e uint) *big.Int { return new(big.Int).Exp(big.NewInt(b), big.NewInt(int64(e)), nil) }
	if !(pow(62, 43).Cmp(pow(2, 256)) > 0 && pow(2, 256).Cmp(pow(62, 42)) > 0) {
		t.Error("want 62^43 > 2^256 > 62^42")
	}
	if !(pow(62, 6).Cmp(pow(2, 32)) > 0 && pow(2, 32).Cmp(pow(62, 5)) > 0) {
		t.Error("want 62^6 > 2^32 > 62^5")
	}
	if pow(62, 10).Uint64() != pow62to10 || pow(62, 11).IsUint64() {
		t.Error("pow62to10 is not the largest power of 62 in a uint64")
	}
	if randLen != 43 || sumLen != 6 || keyLen != 53 {
		t.Errorf("randLen, sumLen, keyLen = %d, %d, %d; want 43, 6, 53", randLen, sumLen, keyLen)
	}
	want := fmt.Sprintf("^%s[0-9A-Za-z]{%d}[0-9A-Za-z]{%d}$", Prefix, randLen, sumLen)
	if Pattern != want {
		t.Errorf("Pattern = %q; want %q", Pattern, want)
	}
}

func TestGenerate(t *testing.T) {
	const n = 10000
	seen := make(map[string]bool, n)
	for range n {
		k := mustGenerate(t)
		s := k.Secret()
		if len(s) != 53 || !patternRE.MatchString(s) {
			t.Fatalf("generated key of length %d does not match Pattern", len(s))
		}
		if seen[s] {
			t.Fatal("duplicate key")
		}
		seen[s] = true

		p, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(generated) = %v", err)
		}
		if p.Secret() != s || p.Hash() != k.Hash() || p.DisplayPrefix() != k.DisplayPrefix() {
			t.Fatal("round trip changed the key")
		}
		sum := sha256.Sum256([]byte(s))
		if k.Hash() != hex.EncodeToString(sum[:]) {
			t.Fatal("Hash is not the hex SHA-256 of the secret")
		}
		if k.DisplayPrefix() != s[:8] {
			t.Fatal("DisplayPrefix is not cmk_ and four characters")
		}
	}
}

func TestKnownAnswers(t *testing.T) {
	for _, tc := range knownAnswers {
		t.Run(tc.name, func(t *testing.T) {
			body := "cmk_" + refEncode(new(big.Int).SetBytes(tc.in), 43)
			sum := crc32.ChecksumIEEE([]byte(body))
			if want := body + refEncode(new(big.Int).SetUint64(uint64(sum)), 6); want != tc.want {
				t.Fatalf("table entry disagrees with reference: %s", want)
			}
			k, err := GenerateFrom(bytes.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if k.Secret() != tc.want {
				t.Errorf("GenerateFrom = %s; want %s", k.Secret(), tc.want)
			}
			if _, err := Parse(tc.want); err != nil {
				t.Errorf("Parse = %v", err)
			}
		})
	}
}

func TestEncodeMatchesBig(t *testing.T) {
	inputs := [][]byte{make([]byte, 32), bytes.Repeat([]byte{0xff}, 32)}
	one := make([]byte, 32)
	one[31] = 1
	inputs = append(inputs, one)
	// Values around powers of 62 and 2 exercise carries between chunks and words.
	for _, n := range []*big.Int{
		new(big.Int).Exp(big.NewInt(62), big.NewInt(10), nil),
		new(big.Int).Exp(big.NewInt(62), big.NewInt(20), nil),
		new(big.Int).Exp(big.NewInt(62), big.NewInt(40), nil),
		new(big.Int).Exp(big.NewInt(62), big.NewInt(42), nil),
		new(big.Int).Lsh(big.NewInt(1), 64),
		new(big.Int).Lsh(big.NewInt(1), 128),
		new(big.Int).Lsh(big.NewInt(1), 255),
	} {
		for _, d := range []int64{-1, 0, 1} {
			inputs = append(inputs, new(big.Int).Add(n, big.NewInt(d)).FillBytes(make([]byte, 32)))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		var dst [randLen]byte
		encode256(dst[:], (*[32]byte)(in))
		if want := refEncode(new(big.Int).SetBytes(in), 43); string(dst[:]) != want {
			t.Fatalf("encode256(%x) = %s; want %s", in, dst[:], want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	valid := knownAnswers[1].want
	body, sum := valid[:47], valid[47:]
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrPrefix},
		{"prefix cut short", "cmk", ErrPrefix},
		{"upper K", "cmK_" + valid[4:], ErrPrefix},
		{"upper C", "Cmk_" + valid[4:], ErrPrefix},
		{"other vendor", "sk_" + valid[3:], ErrPrefix},
		{"other vendor short", "sk_live_abc", ErrPrefix},
		{"leading space", " " + valid, ErrPrefix},
		{"invalid utf-8 in prefix", "\xffmk_" + valid[4:], ErrPrefix},
		{"huge without prefix", strings.Repeat("x", 1<<20), ErrPrefix},
		{"prefix only", "cmk_", ErrLength},
		{"one short", valid[:52], ErrLength},
		{"one long", valid + "0", ErrLength},
		{"trailing newline", valid + "\n", ErrLength},
		{"no checksum", body, ErrLength},
		{"twice", valid + valid, ErrLength},
		{"huge", "cmk_" + strings.Repeat("A", 1<<20), ErrLength},
		{"dash", body[:10] + "-" + body[11:] + sum, ErrAlphabet},
		{"underscore", body[:46] + "_" + sum, ErrAlphabet},
		{"NUL", body[:20] + "\x00" + body[21:] + sum, ErrAlphabet},
		{"space", body[:20] + " " + body[21:] + sum, ErrAlphabet},
		{"non-ASCII", body[:20] + "é" + body[22:] + sum, ErrAlphabet},
		{"invalid utf-8", body[:20] + "\xff" + body[21:] + sum, ErrAlphabet},
		{"bad char in checksum", body + sum[:5] + "+", ErrAlphabet},
		{"checksum of another key", body + knownAnswers[0].want[47:], ErrChecksum},
		{"checksum above 2^32", body + "zzzzzz", ErrChecksum},
		{"swapped characters", body[:10] + body[11:12] + body[10:11] + body[12:] + sum, ErrChecksum},
		{"lower-cased", strings.ToLower(valid), ErrChecksum},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := oracle(tc.in); got != tc.want {
				t.Fatalf("test table disagrees with oracle: %v", got)
			}
			k, err := Parse(tc.in)
			if err != tc.want {
				t.Fatalf("Parse = %v; want %v", err, tc.want)
			}
			if k.Secret() != "" {
				t.Error("rejected input returned a non-zero Key")
			}
			if len(tc.in) > 0 && strings.Contains(err.Error(), tc.in) {
				t.Error("error message contains the input")
			}
		})
	}
}

// CRC32 detects every error burst shorter than 33 bits, and fixed-width base62
// is a bijection, so every single-character change must be caught; this checks
// all of them.
func TestParseSingleCharChange(t *testing.T) {
	keys := []string{knownAnswers[0].want, knownAnswers[1].want, knownAnswers[2].want}
	for range 5 {
		keys = append(keys, mustGenerate(t).Secret())
	}
	for _, s := range keys {
		for i := len(Prefix); i < len(s); i++ {
			for c := range len(alphabet) {
				if alphabet[c] == s[i] {
					continue
				}
				m := s[:i] + alphabet[c:c+1] + s[i+1:]
				if _, err := Parse(m); err != ErrChecksum {
					t.Fatalf("changing position %d to %c: Parse = %v; want ErrChecksum", i, alphabet[c], err)
				}
			}
		}
		for i := range len(Prefix) {
			m := s[:i] + "x" + s[i+1:]
			if _, err := Parse(m); err != ErrPrefix {
				t.Fatalf("changing prefix position %d: Parse = %v; want ErrPrefix", i, err)
			}
		}
	}
}

func TestParseAgreesWithOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	valid := mustGenerate(t).Secret()
	for range 20000 {
		b := []byte(valid)
		switch rng.IntN(4) {
		case 0: // random byte anywhere
			b[rng.IntN(len(b))] = byte(rng.Uint32())
		case 1: // truncate
			b = b[:rng.IntN(len(b))]
		case 2: // re-checksum a random body so that some inputs are accepted
			for i := 4; i < 47; i++ {
				b[i] = alphabet[rng.IntN(62)]
			}
			copy(b[47:], refChecksum(string(b[:47])))
		case 3: // random body with the old checksum
			b[4+rng.IntN(43)] = alphabet[rng.IntN(62)]
		}
		s := string(b)
		if _, err := Parse(s); err != oracle(s) {
			t.Fatalf("Parse = %v; oracle says %v", err, oracle(s))
		}
	}
}

func TestParseAllocs(t *testing.T) {
	s := mustGenerate(t).Secret()
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse(s) }); n > 1 {
		t.Errorf("Parse allocates %v times; want at most 1", n)
	}
	long := "cmk_" + s
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse(long) }); n > 0 {
		t.Errorf("rejecting Parse allocates %v times; want 0", n)
	}
}

func TestGenerateFromShortRead(t *testing.T) {
	if _, err := GenerateFrom(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("GenerateFrom accepted 31 bytes")
	}
	if _, err := GenerateFrom(iotest.ErrReader(errors.New("boom"))); err == nil {
		t.Error("GenerateFrom ignored a read error")
	}
	// Short reads that add up to 32 bytes are fine.
	k, err := GenerateFrom(iotest.OneByteReader(bytes.NewReader(seq(32))))
	if err != nil || k.Secret() != knownAnswers[1].want {
		t.Errorf("GenerateFrom(one byte at a time) = %v", err)
	}
}

func TestZeroKey(t *testing.T) {
	var k Key
	if k.Secret() != "" || k.Hash() != "" || k.DisplayPrefix() != "" {
		t.Error("zero Key has a secret, hash or display prefix")
	}
	if got := fmt.Sprint(k); got != "••••" {
		t.Errorf("zero Key prints %q", got)
	}
}

func TestMask(t *testing.T) {
	if got := Mask("cmk_AbCd"); got != "cmk_AbCd••••" {
		t.Errorf("Mask = %q", got)
	}
	k, _ := GenerateFrom(bytes.NewReader(seq(32)))
	if got, want := k.String(), "cmk_003a••••"; got != want {
		t.Errorf("String = %q; want %q", got, want)
	}
	if got, want := k.GoString(), `apikey.Key("cmk_003a••••")`; got != want {
		t.Errorf("GoString = %q; want %q", got, want)
	}
}

func TestRedaction(t *testing.T) {
	k := mustGenerate(t)
	s := k.Secret()
	masked := Mask(k.DisplayPrefix())
	leaks := func(out string) bool {
		// Any run of the hidden characters, raw or hex, counts as a leak.
		hidden := s[8:]
		for i := 0; i+6 <= len(hidden); i++ {
			if strings.Contains(out, hidden[i:i+6]) {
				return true
			}
		}
		return strings.Contains(out, hex.EncodeToString([]byte(s[8:20])))
	}

	type wrapped struct {
		Exported Key
		hidden   Key
		ptr      *Key
	}
	w := wrapped{k, k, &k}
	for _, f := range []string{"%v", "%s", "%+v", "%#v", "%q", "%x", "%X", "%d", "%T", "%10.3v", "%-60s"} {
		for _, arg := range []any{k, &k, w, &w, []Key{k}, map[string]Key{"k": k}} {
			out := fmt.Sprintf(f, arg)
			if leaks(out) {
				t.Errorf("Sprintf(%q, %T) = %q leaks the secret", f, arg, out)
			}
		}
	}
	for _, f := range []string{"%v", "%s", "%+v"} {
		if out := fmt.Sprintf(f, k); out != masked {
			t.Errorf("Sprintf(%q) = %q; want %q", f, out, masked)
		}
	}
	if out := fmt.Sprint(k); out != masked {
		t.Errorf("Sprint = %q; want %q", out, masked)
	}
	if out := fmt.Sprintf("%#v", k); !strings.Contains(out, masked) {
		t.Errorf("%%#v = %q; want it to contain %q", out, masked)
	}

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		buf.Reset()
		slog.New(h).Info("issued", "key", k, slog.Any("ptr", &k), slog.Group("g", "key", k), "wrapped", w)
		out := buf.String()
		if leaks(out) {
			t.Errorf("%T output leaks the secret: %s", h, out)
		}
		if !strings.Contains(out, masked) {
			t.Errorf("%T output lacks the masked key: %s", h, out)
		}
	}

	j, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if leaks(string(j)) {
		t.Errorf("json.Marshal leaks the secret: %s", j)
	}
}

func FuzzParse(f *testing.F) {
	for _, ka := range knownAnswers {
		v := ka.want
		f.Add(v)
		f.Add(v[:52])
		f.Add(v + "0")
		f.Add(v[:47] + "000000")
		f.Add(v[:47] + "zzzzzz")
		f.Add(v[:20] + "-" + v[21:])
		f.Add(v[:20] + "\xff" + v[21:])
		f.Add(strings.ToUpper(v))
		f.Add("cmK_" + v[4:])
	}
	f.Add("")
	f.Add("cmk_")
	f.Add("sk_live_1234")

	f.Fuzz(func(t *testing.T, s string) {
		k, err := Parse(s)
		if want := oracle(s); err != want {
			t.Fatalf("Parse = %v; oracle says %v", err, want)
		}
		if err != nil {
			if k.Secret() != "" {
				t.Fatal("rejected input returned a non-zero Key")
			}
			return
		}
		if k.Secret() != s || !patternRE.MatchString(s) {
			t.Fatal("accepted key does not round trip or match Pattern")
		}
		// Keys whose random part is at most 2^256-1 are exactly those
		// Generate can produce; they must re-encode to the same string.
		n := refDecode(s[4:47])
		if n.BitLen() <= 256 {
			g, err := GenerateFrom(bytes.NewReader(n.FillBytes(make([]byte, 32))))
			if err != nil || g.Secret() != s {
				t.Fatalf("re-encoding gives %q, %v", g.Secret(), err)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	s := mustGenerate(b).Secret()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Generate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateFrom measures the encoding without the cost of crypto/rand.
func BenchmarkGenerateFrom(b *testing.B) {
	in := bytes.Repeat([]byte{0xff}, 32)
	r := bytes.NewReader(in)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		if _, err := GenerateFrom(r); err != nil {
			b.Fatal(err)
		}
	}
}
