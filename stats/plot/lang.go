package plot

import (
	"fmt"
	"time"
)

// dutch translates the package's own texts; the English text is the key.
var dutch = map[string]string{
	"guardrail margin": "vangrailmarge",
	"† Adjusted for the customers' values from before the experiment (CUPED): the effect the verdict rests on.":                        "† Gecorrigeerd voor de waarden van de klanten van vóór het experiment (CUPED): het effect waarop het oordeel berust.",
	"Dashed tick: a guardrail's margin, standardized like its effect; held when the one-sided %s bound of the effect stays inside it.": "Gestippeld streepje: de marge van een vangrail, gestandaardiseerd zoals het effect; gehaald als de eenzijdige %s-grens van het effect erbinnen blijft.",
	"Effect of each arm versus control": "Effect van elke variant ten opzichte van controle",
	"Standardized effect (difference ÷ standard deviation), %s CI. Labels give the raw difference. Filled: significant after correction.": "Gestandaardiseerd effect (verschil ÷ standaarddeviatie), %s-BI. Labels geven het ruwe verschil. Gevuld: significant na correctie.",
	"Standardized effect (0 = no difference)":                       "Gestandaardiseerd effect (0 = geen verschil)",
	"better, significant":                                           "beter, significant",
	"worse, significant":                                            "slechter, significant",
	"leaning better, not significant":                               "neigt naar beter, niet significant",
	"leaning worse, not significant":                                "neigt naar slechter, niet significant",
	"insufficient data":                                             "onvoldoende gegevens",
	"No comparisons to show yet.":                                   "Nog geen vergelijkingen om te tonen.",
	"No answers to show yet.":                                       "Nog geen antwoorden om te tonen.",
	"Share of answers per arm; the neutral middle is centred on 0.": "Aandeel antwoorden per variant; het neutrale midden staat rond 0.",
	"Per arm, with %s confidence interval.":                         "Per variant, met %s-betrouwbaarheidsinterval.",
	"Share of answers":                                              "Aandeel antwoorden",
	"Cumulative difference versus control, by day":                  "Cumulatief verschil ten opzichte van controle, per dag",
	"difference":                                                    "verschil",
	"%s CI":                                                         "%s-BI",
	"always-valid CI (sequential, for peeking)":                     "altijd-geldig BI (sequentieel, voor tussentijds kijken)",
	"vs control":                                                    "t.o.v. controle",
	"Difference":                                                    "Verschil",
	"no answers":                                                    "geen antwoorden",
	"Day of answer":                                                 "Dag van antwoord",
}

// tr translates an English text of this package, formatting args into it.
func tr(lang, en string, args ...any) string {
	s := en
	if lang == Dutch {
		if nl, ok := dutch[en]; ok {
			s = nl
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

var monthsNL = [...]string{"jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"}

// dayLabel is "3 Mar" or "3 mrt".
func dayLabel(t time.Time, lang string) string {
	if lang == Dutch {
		return fmt.Sprintf("%d %s", t.Day(), monthsNL[t.Month()-1])
	}
	return t.Format("2 Jan")
}

// percentLevel is "95%" for 0.95; "" when unknown.
func percentLevel(level float64, lang string) string {
	if !(level > 0 && level < 1) {
		level = 0.95
	}
	d := 0
	if v := level * 100; v != float64(int(v)) {
		d = 1
	}
	return num(level*100, d, lang) + "%"
}
