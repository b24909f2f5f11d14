package experiment

import (
	"errors"
	"net/netip"
	"testing"
)

// TestWebhookPolicyDefault: by default a webhook URL may name a public host or address
// only. The special ranges are those of the IANA IPv4 and IPv6 special-purpose address
// registries; the numeric host forms are those inet_aton(3) accepts.
func TestWebhookPolicyDefault(t *testing.T) {
	var p WebhookPolicy
	for url, ok := range map[string]bool{
		"https://cx.example.com/hook":              true,
		"https://CX.Example.com./hook":             true,
		"http://93.184.215.14/hook":                true,
		"http://8.8.8.8:8080/hook":                 true,
		"http://[2606:4700:4700::1111]/hook":       true,
		"http://[64:ff9b::808:808]/hook":           true, // NAT64 of 8.8.8.8
		"http://[::ffff:8.8.8.8]/hook":             true,
		"http://169.254.169.254/latest/":           false, // cloud metadata
		"http://[::1]:5432/":                       false,
		"http://127.0.0.1/":                        false,
		"http://127.9.9.9/":                        false,
		"http://0.0.0.0/":                          false,
		"http://10.0.0.5:8080/krslab":              false,
		"http://172.16.0.1/":                       false,
		"http://172.31.255.255/":                   false,
		"http://192.168.1.1/":                      false,
		"http://100.64.0.1/":                       false,
		"http://192.0.2.1/":                        false,
		"http://198.18.0.1/":                       false,
		"http://224.0.0.1/":                        false,
		"http://255.255.255.255/":                  false,
		"http://[::]/":                             false,
		"http://[fe80::1]/":                        false,
		"http://[fe80::1%25eth0]/":                 false,
		"http://[fd00::1]/":                        false,
		"http://[fc00::1]/":                        false,
		"http://[ff02::1]/":                        false,
		"http://[2001:db8::1]/":                    false,
		"http://[2002:7f00:1::]/":                  false, // 6to4 of 127.0.0.1
		"http://[2001:0:4136:e378::]/":             false, // Teredo
		"http://[100::1]/":                         false,
		"http://[::ffff:127.0.0.1]/":               false,
		"http://[::ffff:7f00:1]/":                  false,
		"http://[0:0:0:0:0:ffff:169.254.169.254]/": false,
		"http://[::127.0.0.1]/":                    false, // IPv4-compatible
		"http://[64:ff9b::7f00:1]/":                false, // NAT64 of 127.0.0.1
		"http://[64:ff9b::a00:1]/":                 false, // NAT64 of 10.0.0.1
		"http://[64:ff9b:1::1]/":                   false,
		"http://0x7f000001/":                       false,
		"http://0X7F000001/":                       false,
		"http://2130706433/":                       false,
		"http://0177.0.0.1/":                       false,
		"http://127.1/":                            false,
		"http://0/":                                false,
		"http://10.0.0.010/":                       false,
		"http://cx.example.0x10/":                  false,
		"http://localhost/":                        false,
		"http://LOCALHOST./":                       false,
		"http://db.localhost:5432/":                false,
		"http://１２７.０.０.１/":                        false, // full-width digits, which IDNA maps to 127.0.0.1
		"http://exämple.com/":                      false, // an IDN must be given in punycode
		"http://xn--exmple-cua.com/":               true,
	} {
		err := p.CheckURL(url)
		if got := err == nil; got != ok {
			t.Errorf("CheckURL(%q) = %v, want ok %v", url, err, ok)
		}
		if err != nil && !errors.Is(err, ErrWebhookRefused) {
			t.Errorf("CheckURL(%q) = %v, not ErrWebhookRefused", url, err)
		}
	}
}

func TestWebhookPolicyAllow(t *testing.T) {
	p, err := ParseWebhookAllow(" cx.corp.example, 10.20.0.0/16 ,192.168.7.12,,fd12:3456::/32, ::ffff:172.16.0.0/108")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.String(), "cx.corp.example,10.20.0.0/16,192.168.7.12/32,fd12:3456::/32,172.16.0.0/12"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for url, ok := range map[string]bool{
		"https://cx.corp.example/hook":   true,
		"https://CX.corp.example./hook":  true,
		"https://x.cx.corp.example/hook": true, // a name is checked when connecting
		"http://10.20.3.4:8080/hook":     true,
		"http://10.21.0.1/hook":          false,
		"http://192.168.7.12/":           true,
		"http://192.168.7.13/":           false,
		"http://[::ffff:10.20.0.1]/":     true,
		"http://[fd12:3456::9]/":         true,
		"http://[fd12:3457::9]/":         false,
		"http://172.20.0.1/":             true,
		"http://127.0.0.1/":              false,
		"https://cx.example.com/":        true,
	} {
		if err := p.CheckURL(url); (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v, want ok %v", url, err, ok)
		}
	}
	for _, c := range []struct {
		host, addr string
		ok         bool
	}{
		{"cx.corp.example", "10.99.0.1", true}, // an allowed name may resolve anywhere
		{"CX.corp.example.", "127.0.0.1", true},
		{"x.cx.corp.example", "10.99.0.1", false},
		{"hooks.example.com", "10.20.0.9", true},
		{"hooks.example.com", "10.30.0.9", false},
		{"hooks.example.com", "127.0.0.1", false}, // DNS re-pointed after the URL was checked
		{"hooks.example.com", "::ffff:127.0.0.1", false},
		{"hooks.example.com", "169.254.169.254", false},
		{"hooks.example.com", "93.184.215.14", true},
	} {
		err := p.CheckDial(c.host, netip.MustParseAddr(c.addr))
		if (err == nil) != c.ok {
			t.Errorf("CheckDial(%q, %s) = %v, want ok %v", c.host, c.addr, err, c.ok)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "0x7f000001", "exa mple.com", "cx.example.com:443", "fe80::1%eth0", "http://cx.example.com"} {
		if _, err := ParseWebhookAllow(bad); err == nil {
			t.Errorf("ParseWebhookAllow(%q) accepted", bad)
		}
	}
	if p, err := ParseWebhookAllow(""); err != nil || p.String() != "" {
		t.Errorf("empty allowance: %v %q", err, p)
	}
}

func TestDeliveryClass(t *testing.T) {
	for _, c := range []struct {
		status int
		err    string
		want   string
	}{
		{204, "", "2xx"},
		{302, "HTTP 302", "3xx"},
		{404, "HTTP 404", "4xx"},
		{503, "HTTP 503", "5xx"},
		{0, "dial tcp 10.0.0.5:5432: connect: connection refused", ClassConnection},
		{0, "no answer within 10s", ClassConnection},
		{0, "refused by policy: 127.0.0.1 is a loopback address", ClassRefused},
		{0, NoWebhookError, ClassNoWebhook},
	} {
		if got := (DeliveryAttempt{StatusCode: c.status, Error: c.err}).Class(); got != c.want {
			t.Errorf("Class(%d, %q) = %q, want %q", c.status, c.err, got, c.want)
		}
	}
	if got := (Delivery{Attempts: 1}).LastClass(); got != "" {
		t.Errorf("LastClass of a delivery in flight = %q", got)
	}
	if got := (Delivery{Attempts: 2, LastError: "dial tcp: lookup x: no such host"}).LastClass(); got != ClassConnection {
		t.Errorf("LastClass = %q", got)
	}
}
