package report

import (
	"math"
	"strings"
	"testing"

	"github.com/krslab/krslab/stats"
)

func TestLevelPattern(t *testing.T) {
	tests := []struct {
		l    Levels
		want string
	}{
		{Levels{70, 68, 65}, "balanced"},
		{Levels{70, 70, 60.5}, "balanced"},  // 9.5 below the top: within LagGap
		{Levels{72, 68, 50}, "little_love"}, // satisfied but little love (DOMAIN.md)
		{Levels{72, 55, 70}, "less_trust"},  // love and satisfaction but less trust (DOMAIN.md)
		{Levels{55, 70, 68}, "less_satisfaction"},
		{Levels{75, 60, 58}, "trust_and_love_lag"},
		{Levels{55, 75, 60}, "satisfaction_and_love_lag"},
		{Levels{55, 58, 75}, "satisfaction_and_trust_lag"},
		{Levels{70, math.NaN(), 60}, ""},
	}
	for _, tt := range tests {
		if got := LevelPattern(tt.l); got != tt.want {
			t.Errorf("LevelPattern(%+v) = %q, want %q", tt.l, got, tt.want)
		}
		for _, lang := range []string{"en", "nl"} {
			if txt := LevelDiagnosis(tt.l, lang); (txt == "") != (tt.want == "") {
				t.Errorf("LevelDiagnosis(%+v, %s) = %q", tt.l, lang, txt)
			}
		}
	}
}

func TestEffectPattern(t *testing.T) {
	b, i, w, x := stats.VerdictBetter, stats.VerdictInconclusive, stats.VerdictWorse, stats.VerdictInsufficientData
	eff := func(s, tr, l stats.Verdict) map[string]ComponentEffect {
		return map[string]ComponentEffect{"satisfaction": {s, 0.3}, "trust": {tr, 0.1}, "love": {l, 0.05}}
	}
	tests := []struct {
		e    map[string]ComponentEffect
		want string
		text string // a phrase the English sentence must contain
	}{
		{eff(b, b, b), "balanced", "whole relationship"},
		{eff(b, b, i), "little_love", "not love"},
		{eff(b, i, b), "less_trust", "not trust"},
		{eff(i, b, b), "less_satisfaction", "not satisfaction"},
		{eff(b, i, i), "trust_and_love_lag", "satisfaction only"},
		{eff(i, b, i), "satisfaction_and_love_lag", "trust only"},
		{eff(i, i, b), "satisfaction_and_trust_lag", "love only"},
		{eff(i, i, i), "none", "largest shift is in satisfaction (d = +0.30)"},
		{eff(b, w, i), "worse", "made trust significantly worse"},
		{eff(b, b, x), "insufficient", "Too few answers"},
	}
	for _, tt := range tests {
		if got := EffectPattern(tt.e); got != tt.want {
			t.Errorf("EffectPattern(%v) = %q, want %q", tt.e, got, tt.want)
		}
		if got := EffectDiagnosis(tt.e, "en"); !strings.Contains(got, tt.text) {
			t.Errorf("EffectDiagnosis(%v) = %q, want it to mention %q", tt.e, got, tt.text)
		}
		if got := EffectDiagnosis(tt.e, "nl"); got == "" || got == EffectDiagnosis(tt.e, "en") {
			t.Errorf("EffectDiagnosis(%v, nl) = %q, not translated", tt.e, got)
		}
	}
}
