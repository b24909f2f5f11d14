package experiment

import (
	"math"
	"strings"
	"testing"
)

func TestAlertRuleMatches(t *testing.T) {
	for _, c := range []struct {
		op   string
		v    float64
		want bool
	}{
		{"<=", 6, true}, {"<=", 7, false}, {"<", 6, false}, {"<", 5, true},
		{">=", 6, true}, {">=", 5, false}, {">", 6, false}, {">", 7, true},
		{"==", 6, true}, {"==", 6.5, false}, {"=<", 1, false},
	} {
		r := AlertRule{Outcome: "nps", Op: c.op, Value: 6}
		if got := r.Matches(c.v); got != c.want {
			t.Errorf("%v on %g = %v, want %v", r, c.v, got, c.want)
		}
	}
	if s := (AlertRule{Outcome: "trust", Op: "<=", Value: 2.5}).String(); s != "trust <= 2.5" {
		t.Errorf("String() = %q", s)
	}
}

func TestWebhookFingerprint(t *testing.T) {
	if fp := (Webhook{Secret: "0123456789abcdef"}).Fingerprint(); !strings.HasPrefix(fp, "sha256:") || len(fp) != 19 ||
		strings.Contains(fp, "0123456789abcdef") {
		t.Errorf("fingerprint %q", fp)
	}
}

func TestCheckWebhook(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://cx.example.com/hook":                 true,
		"http://cx.example.com:8080/krslab?token=abc": true,
		"":                                    false,
		"ftp://cx.example.com/hook":           false,
		"/hook":                               false,
		"https://":                            false,
		"https://user:pw@cx.example.com/hook": false,
		"https://cx.example.com/hook#frag":    false,
		"https:cx.example.com":                false,
		"https://cx.example.com:0/hook":       false,
		"https://cx.example.com:65536/hook":   false,
		"https://cx.example.com/" + strings.Repeat("a", MaxWebhookURL): false,
	} {
		if got := (WebhookPolicy{}).CheckURL(url) == nil; got != ok {
			t.Errorf("CheckURL(%q) ok = %v, want %v", url, got, ok)
		}
	}
	for secret, ok := range map[string]bool{
		"0123456789abcdef":       true,
		"0123456789abcde":        false,
		"ééééééééééééééééé":      true,
		"0123456789abcdef\n":     false,
		strings.Repeat("s", 257): false,
		strings.Repeat("s", 256): true,
	} {
		if got := checkWebhookSecret(secret) == ""; got != ok {
			t.Errorf("checkWebhookSecret(%q) ok = %v, want %v", secret, got, ok)
		}
	}
}

func TestCheckAlertRules(t *testing.T) {
	lo, hi, top, bottom := 0.0, 10.0, 9.0, 6.0
	one, seven := 1.0, 7.0
	outcomes := map[string]Outcome{
		"nps":   {Key: "nps", Kind: Net, Min: &lo, Max: &hi, TopMin: &top, BottomMax: &bottom},
		"trust": {Key: "trust", Kind: Scale, Min: &one, Max: &seven},
		"love":  {Key: "love", Kind: Scale, Min: &one, Max: &seven},
		"ces":   {Key: "ces", Kind: Net},
		"krs":   {Key: "krs", Kind: Composite, Components: []string{"trust", "love"}},
	}
	allowed := map[string]Outcome{"nps": outcomes["nps"], "trust": outcomes["trust"], "love": outcomes["love"]}
	var p Problems
	checkAlertRules(&p, []AlertRule{
		{Outcome: "nps", Op: "<=", Value: 6},
		{Outcome: "krs", Op: "<=", Value: 40},
		{Outcome: "ces", Op: "<=", Value: 3},
		{Outcome: "happiness", Op: "<=", Value: 3},
		{Outcome: "trust", Op: "!=", Value: math.NaN()},
		{Outcome: "nps", Op: "<=", Value: 6},
		{Op: "<", Value: 1},
	}, allowed, outcomes)
	got := map[string]string{}
	for _, d := range p.details {
		got[d.Field] = d.Message
	}
	for field, part := range map[string]string{
		"rules[1].outcome": "composite", "rules[2].outcome": "not answered", "rules[3].outcome": "not answered",
		"rules[4].op": "one of", "rules[4].value": "finite", "rules[5]": "duplicates rules[0]", "rules[6].outcome": "required",
	} {
		if !strings.Contains(got[field], part) {
			t.Errorf("%s: %q, want it to say %q", field, got[field], part)
		}
	}
	if len(got) != 7 {
		t.Errorf("%d problems, want 7: %v", len(got), got)
	}
	var tooMany Problems
	checkAlertRules(&tooMany, make([]AlertRule, MaxAlertRules+1), allowed, outcomes)
	if tooMany.Len() == 0 || tooMany.details[0].Field != "rules" {
		t.Errorf("too many rules: %v", tooMany.details)
	}
}
