package i18n

// messages are the texts of the figures (plot.), the report (report.), the recommendation's
// reason (reason.) and the words they share; console.go adds the console's (see the package
// doc). Every text is a fmt format: a literal percent sign is "%%".
var messages = map[string]Message{
	// Shared words.
	"list.and":     {" and ", " en "},
	"arm.control":  {"control", "controle"},
	"unit.points":  {" points", " punten"},
	"unit.pp":      {" percentage points", " procentpunten"},
	"unit.pts":     {" pts", " ptn"},
	"unit.pp.abbr": {" pp", " %%-pt"},

	// The forest plot of effects.
	"plot.effects.title":          {"Effect of each arm versus control", "Effect van elke variant ten opzichte van controle"},
	"plot.no_comparisons":         {"No comparisons to show yet.", "Nog geen vergelijkingen om te tonen."},
	"plot.effects.subtitle":       {"Standardized effect (difference ÷ standard deviation), %s CI. Labels give the raw difference. Filled: significant after correction.", "Gestandaardiseerd effect (verschil ÷ standaarddeviatie), %s-BI. Labels geven het ruwe verschil. Gevuld: significant na correctie."},
	"plot.effects.axis":           {"Standardized effect (0 = no difference)", "Gestandaardiseerd effect (0 = geen verschil)"},
	"plot.effects.better":         {"better, significant", "beter, significant"},
	"plot.effects.worse":          {"worse, significant", "slechter, significant"},
	"plot.effects.leaning_better": {"leaning better, not significant", "neigt naar beter, niet significant"},
	"plot.effects.leaning_worse":  {"leaning worse, not significant", "neigt naar slechter, niet significant"},
	"plot.effects.margin":         {"guardrail margin", "vangrailmarge"},
	"plot.effects.note.cuped":     {"† Adjusted for the customers' values from before the experiment (CUPED): the effect the verdict rests on.", "† Gecorrigeerd voor de waarden van de klanten van vóór het experiment (CUPED): het effect waarop het oordeel berust."},
	"plot.effects.note.margin":    {"Dashed tick: a guardrail's margin, standardized like its effect; held when the one-sided %s bound of the effect stays inside it.", "Gestippeld streepje: de marge van een vangrail, gestandaardiseerd zoals het effect; gehaald als de eenzijdige %s-grens van het effect erbinnen blijft."},
	"plot.insufficient":           {"insufficient data", "onvoldoende gegevens"},

	// The distribution of one outcome per arm.
	"plot.distribution.empty":            {"No answers to show yet.", "Nog geen antwoorden om te tonen."},
	"plot.distribution.subtitle.stacked": {"Share of answers per arm; the neutral middle is centred on 0.", "Aandeel antwoorden per variant; het neutrale midden staat rond 0."},
	"plot.distribution.subtitle.bars":    {"Per arm, with %s confidence interval.", "Per variant, met %s-betrouwbaarheidsinterval."},
	"plot.distribution.axis.share":       {"Share of answers", "Aandeel antwoorden"},
	"plot.no_answers":                    {"no answers", "geen antwoorden"},
	"plot.n":                             {"n = %s", "n = %s"},

	// The timeline of the primary outcome.
	"plot.timeline.title":      {"Cumulative difference versus control, by day", "Cumulatief verschil ten opzichte van controle, per dag"},
	"plot.timeline.difference": {"difference", "verschil"},
	"plot.timeline.ci":         {"%s CI", "%s-BI"},
	"plot.timeline.sequential": {"always-valid CI (sequential, for peeking)", "altijd-geldig BI (sequentieel, voor tussentijds kijken)"},
	"plot.timeline.vs":         {"%s vs %s", "%s t.o.v. %s"},
	"plot.timeline.vs_control": {"%s vs control", "%s t.o.v. controle"},
	"plot.timeline.axis.y":     {"Difference", "Verschil"},
	"plot.timeline.axis.x":     {"Day of answer", "Dag van antwoord"},

	// The priority matrix of drivers.
	"plot.drivers.title":                 {"What moves %s: priority matrix", "Wat beweegt %s: prioriteitenmatrix"},
	"plot.drivers.subtitle":              {"Each driver by its current score and its share of the explained variance (R²) of %s, among the control arm's customers. Dashed lines at the averages; top left is where an intervention pays off most.", "Elke driver naar de huidige score en zijn aandeel in de verklaarde variantie (R²) van %s, onder de klanten in de controlegroep. Stippellijnen op de gemiddelden; linksboven levert een interventie het meest op."},
	"plot.drivers.empty":                 {"Cannot tell yet what moves %s: %s control customers answered it and every driver, and the regression needs more than %d, with answers that differ.", "Nog niet te zeggen wat %s beweegt: %s klanten in de controlegroep beantwoordden die en elke driver, en de regressie heeft er meer dan %d nodig, met antwoorden die verschillen."},
	"plot.drivers.axis.x":                {"Current score: mean in the control arm", "Huidige score: gemiddelde in de controlegroep"},
	"plot.drivers.axis.x.rescaled":       {"Current score: mean in the control arm, 0–100 of each driver's scale", "Huidige score: gemiddelde in de controlegroep, 0–100 van de eigen schaal"},
	"plot.drivers.axis.x.short":          {"Current score", "Huidige score"},
	"plot.drivers.axis.x.rescaled_short": {"Current score (0–100)", "Huidige score (0–100)"},
	"plot.drivers.axis.y":                {"Importance: share of R²", "Belang: aandeel in R²"},
	"plot.drivers.axis.y.short":          {"Share of R²", "Aandeel in R²"},
	"plot.drivers.footnote":              {"n = %s control customers with every answer · R² = %s (adjusted %s) · importance: Johnson's relative weights, which add up to R²", "n = %s klanten in de controlegroep met alle antwoorden · R² = %s (gecorrigeerd %s) · belang: relatieve gewichten volgens Johnson, die samen R² zijn"},
	"plot.drivers.footnote.short":        {"n = %s · R² = %s", "n = %s · R² = %s"},
	"plot.drivers.improve":               {"Improve first", "Eerst verbeteren"},
	"plot.drivers.improve.sub":           {"important, low score", "belangrijk, lage score"},
	"plot.drivers.keep":                  {"Keep", "Vasthouden"},
	"plot.drivers.keep.sub":              {"important, high score", "belangrijk, hoge score"},
	"plot.drivers.monitor":               {"Monitor", "In de gaten houden"},
	"plot.drivers.monitor.sub":           {"less important, low score", "minder belangrijk, lage score"},
	"plot.drivers.less_urgent":           {"Less urgent", "Minder urgent"},
	"plot.drivers.less_urgent.sub":       {"less important, high score", "minder belangrijk, hoge score"},
}
