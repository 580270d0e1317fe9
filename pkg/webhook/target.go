package webhook

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"code.dny.dev/ssrf"
)

// MaxURLLength bounds an endpoint's URL.
const MaxURLLength = 2048

// ErrPrivateAddress is why a URL naming a private, loopback, link-local, metadata or otherwise
// special address is refused, at registration and at delivery.
var ErrPrivateAddress = errors.New("the URL's host is a private, loopback, link-local or metadata address; webhooks are sent only to the public internet")

// CheckURL checks an endpoint URL before anything is sent: absolute https, no credentials, and a
// host that is not written as a special address, in any of the spellings a resolver accepts
// (2130706433, 0x7f.1, 0177.0.0.1, [::ffff:127.0.0.1], localhost). What a host NAME resolves to
// is checked later, on every connection (Sender); this only refuses what is visibly wrong, with a
// message a merchant can act on. allowLoopback (local development only) also accepts http and
// https to loopback.
func CheckURL(raw string, allowLoopback bool) error {
	if raw == "" {
		return errors.New("url is required")
	}
	if len(raw) > MaxURLLength {
		return errors.New("url must be at most " + strconv.Itoa(MaxURLLength) + " characters")
	}
	if !utf8.ValidString(raw) || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return errors.New("url must not contain whitespace or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return errors.New("url must be an absolute URL such as https://example.com/webhooks")
	}
	if u.User != nil {
		return errors.New("url must not carry a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errors.New("url must not have a fragment")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" {
		return errors.New("url must name a host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errors.New("url has an invalid port")
		}
	}
	loopback := false
	if addr, ok := hostAddr(host); ok {
		loopback = addr.Unmap().IsLoopback()
		if !(allowLoopback && loopback) && guardian.SafeAddr(addr) != nil {
			return ErrPrivateAddress
		}
	} else if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		loopback = true
		if !allowLoopback {
			return ErrPrivateAddress
		}
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowLoopback && loopback:
	default:
		return errors.New("url must use https")
	}
	return nil
}

// guardian is the address policy of the deployed stack: code.dny.dev/ssrf's lists of the IANA
// special-purpose ranges (private, loopback, link-local and so the metadata service, CGNAT,
// unspecified, documentation, multicast, IPv4-mapped and NAT64 forms of them...), on any port.
var guardian = ssrf.New(ssrf.WithAnyPort())

// hostAddr reads host as an IP address in any form a resolver takes for one: IPv6 (with a zone or
// not), dotted quad, and the inet_aton forms with fewer parts or octal and hex parts.
func hostAddr(host string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.WithZone(""), true
	}
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 0, 32) // base prefix: 0x hex, 0 octal, else decimal
		if err != nil || p == "" {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	// a, a.b (b 24 bits), a.b.c (c 16 bits), a.b.c.d: the last part fills the remaining bytes.
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*i)
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}
