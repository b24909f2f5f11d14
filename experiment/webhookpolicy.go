package experiment

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// ErrWebhookRefused is wrapped by every refusal of a WebhookPolicy.
var ErrWebhookRefused = errors.New("refused by policy")

// WebhookPolicy decides where webhooks may be posted. An editor chooses the URL, and the
// delivery log tells whether something answered there, so without a policy a webhook would
// let anyone who may edit an experiment probe the network krslab runs in (cloud metadata at
// 169.254.169.254, the database's port on localhost). The zero value is the default: public
// unicast addresses only. An operator allows more by host name or network (a CX system
// inside the company network), with ParseWebhookAllow.
//
// The same policy is asked twice: when the URL is stored (CheckURL; the host as written,
// without resolving it, so that the answer never depends on, or tells of, the internal DNS)
// and when the webhook worker connects (CheckDial, on every address the name resolves to
// then), so that a name that is re-pointed later gains nothing.
type WebhookPolicy struct {
	hosts []string       // lower case, without a trailing dot
	nets  []netip.Prefix // masked
}

// ParseWebhookAllow reads a comma-separated allowance of host names, IP addresses and
// CIDR networks: "cx.corp.example, 10.20.0.0/16, 192.168.7.12". An empty list is the
// default policy. A host name is allowed wherever it resolves; a name is matched exactly,
// not its subdomains.
func ParseWebhookAllow(list string) (WebhookPolicy, error) {
	var p WebhookPolicy
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			n, err := netip.ParsePrefix(item)
			if err != nil {
				return WebhookPolicy{}, fmt.Errorf("webhook allowance %q is not a CIDR network (such as 10.20.0.0/16)", item)
			}
			p.nets = append(p.nets, unmapPrefix(n).Masked())
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil && a.Zone() == "" {
			a = a.Unmap()
			p.nets = append(p.nets, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		h := normalHost(item)
		if !isHostName(h) || looksNumeric(h) {
			return WebhookPolicy{}, fmt.Errorf("webhook allowance %q is neither a host name, an IP address nor a CIDR network", item)
		}
		if !slices.Contains(p.hosts, h) {
			p.hosts = append(p.hosts, h)
		}
	}
	return p, nil
}

// String lists the allowance as ParseWebhookAllow reads it ("" for the default policy).
func (p WebhookPolicy) String() string {
	parts := slices.Clone(p.hosts)
	for _, n := range p.nets {
		parts = append(parts, n.String())
	}
	return strings.Join(parts, ",")
}

// CheckURL checks a webhook URL: an absolute http or https URL without user information
// or fragment, whose host the policy allows. The error's text is fit for the editor who
// gave the URL (it says nothing the URL does not).
func (p WebhookPolicy) CheckURL(raw string) error {
	if raw == "" {
		return errors.New("is required")
	}
	if len(raw) > MaxWebhookURL {
		return fmt.Errorf("at most %d characters", MaxWebhookURL)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return errors.New("must be an absolute http or https URL")
	}
	if u.User != nil {
		return errors.New("must not carry user information; the signature authenticates krslab")
	}
	if u.Fragment != "" {
		return errors.New("must not have a fragment")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return errors.New("must have a port from 1 to 65535")
		}
	}
	return p.checkHost(u.Hostname())
}

// CheckDial checks, when the worker connects, the address that host (the URL's) resolved
// to: an allowed host name may be anywhere, any other host only at an address the policy
// allows.
func (p WebhookPolicy) CheckDial(host string, addr netip.Addr) error {
	if slices.Contains(p.hosts, normalHost(host)) {
		return nil
	}
	return p.checkAddr(addr)
}

func (p WebhookPolicy) checkHost(host string) error {
	h := normalHost(host)
	if slices.Contains(p.hosts, h) {
		return nil
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return p.checkAddr(a)
	}
	switch {
	case !isHostName(h):
		return fmt.Errorf("%w: the host must be an ASCII host name (punycode for international names) or an IP address", ErrWebhookRefused)
	case looksNumeric(h):
		// 0x7f000001, 2130706433, 0177.0.0.1, 127.1: some resolvers read them as
		// addresses, others ask DNS. Neither is a host name.
		return fmt.Errorf("%w: %s is not a canonical IP address (write IPv4 as four decimal numbers)", ErrWebhookRefused, host)
	case h == "localhost" || strings.HasSuffix(h, ".localhost"):
		return fmt.Errorf("%w: %s is a loopback name", ErrWebhookRefused, host)
	}
	return nil
}

func (p WebhookPolicy) checkAddr(a netip.Addr) error {
	if !a.IsValid() {
		return fmt.Errorf("%w: no address", ErrWebhookRefused)
	}
	if a.Zone() != "" {
		return fmt.Errorf("%w: %s has an IPv6 zone, which only link-local addresses need", ErrWebhookRefused, a)
	}
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return nil
		}
	}
	if what := nonPublic(a); what != "" {
		return fmt.Errorf("%w: %s is %s (an operator may allow it with --webhook-allow)", ErrWebhookRefused, a, what)
	}
	return nil
}

// The classes of a delivery attempt without an HTTP answer (see DeliveryAttempt.Class).
const (
	ClassRefused    = "refused by policy"
	ClassConnection = "connection failed"
	ClassNoWebhook  = "no webhook"
)

// NoWebhookError is the error of an attempt at a delivery whose experiment's webhook was
// removed.
const NoWebhookError = "the experiment has no webhook any more"

// Class is what an attempt came to, for everyone who reads alerts: "2xx" to "5xx" by the
// receiver's HTTP status, else ClassRefused (the WebhookPolicy refused the address),
// ClassNoWebhook or ClassConnection (no answer: refused, reset, timed out, TLS). The Error
// itself is for admins: it may name an address and a port, and whether something listens
// there.
func (a DeliveryAttempt) Class() string { return deliveryClass(a.StatusCode, a.Error) }

// LastClass is the Class of the last attempt, "" before one is recorded.
func (d Delivery) LastClass() string {
	if d.LastStatusCode == 0 && d.LastError == "" {
		return ""
	}
	return deliveryClass(d.LastStatusCode, d.LastError)
}

func deliveryClass(status int, errText string) string {
	switch {
	case status >= 100 && status < 600:
		return strconv.Itoa(status/100) + "xx"
	case strings.HasPrefix(errText, ErrWebhookRefused.Error()):
		return ClassRefused
	case errText == NoWebhookError:
		return ClassNoWebhook
	}
	return ClassConnection
}

// The special-purpose ranges (the IANA registries), which a webhook receiver on the
// internet never has. IPv6 outside 2000::/3 is refused as a whole below.
var (
	specialV4 = []struct {
		net  netip.Prefix
		what string
	}{
		{netip.MustParsePrefix("0.0.0.0/8"), `"this network" (unspecified)`},
		{netip.MustParsePrefix("10.0.0.0/8"), "a private address (RFC 1918)"},
		{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
		{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
		{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
		{netip.MustParsePrefix("172.16.0.0/12"), "a private address (RFC 1918)"},
		{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
		{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
		{netip.MustParsePrefix("192.88.99.0/24"), "a 6to4 relay address"},
		{netip.MustParsePrefix("192.168.0.0/16"), "a private address (RFC 1918)"},
		{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
		{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
		{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
		{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
		{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	}
	specialV6 = []struct {
		net  netip.Prefix
		what string
	}{
		{netip.MustParsePrefix("::/128"), "the unspecified address"},
		{netip.MustParsePrefix("::1/128"), "a loopback address"},
		{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
		{netip.MustParsePrefix("fc00::/7"), "a unique local address (RFC 4193)"},
		{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
		{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
		{netip.MustParsePrefix("2001::/23"), "an IETF protocol address (Teredo and others)"},
		{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
		{netip.MustParsePrefix("2002::/16"), "a 6to4 address"},
		{netip.MustParsePrefix("3fff::/20"), "a documentation address"},
	}
	globalV6 = netip.MustParsePrefix("2000::/3")
	nat64    = netip.MustParsePrefix("64:ff9b::/96")
)

// nonPublic says what kind of special address a is, "" for a public one.
func nonPublic(a netip.Addr) string {
	if a.Is4() {
		for _, s := range specialV4 {
			if s.net.Contains(a) {
				return s.what
			}
		}
		return ""
	}
	if nat64.Contains(a) {
		// DNS64 gives every IPv4 host such an address on an IPv6-only network; the
		// translator connects to the IPv4 address in its last 32 bits.
		b := a.As16()
		return nonPublic(netip.AddrFrom4([4]byte(b[12:])))
	}
	for _, s := range specialV6 {
		if s.net.Contains(a) {
			return s.what
		}
	}
	if !globalV6.Contains(a) {
		return "not a global unicast address"
	}
	return ""
}

func normalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// isHostName reports whether h is made of DNS labels of ASCII letters, digits, hyphens and
// underscores. Anything else (full-width digits, which IDNA maps to ASCII ones, among
// them) is refused rather than guessed at.
func isHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// looksNumeric reports whether a host name's last label is a number (decimal, or hex with
// 0x), which the WHATWG URL standard and inet_aton read as an IPv4 address. No top-level
// domain is numeric.
func looksNumeric(h string) bool {
	last := h[strings.LastIndexByte(h, '.')+1:]
	if rest, ok := strings.CutPrefix(last, "0x"); ok {
		return strings.Trim(rest, "0123456789abcdef") == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// unmapPrefix turns an IPv4-mapped IPv6 network (::ffff:10.0.0.0/104) into the IPv4 one,
// as addresses are unmapped before they are compared.
func unmapPrefix(n netip.Prefix) netip.Prefix {
	if a := n.Addr(); a.Is4In6() && n.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), n.Bits()-96)
	}
	return n
}
