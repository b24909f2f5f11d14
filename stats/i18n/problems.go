package i18n

import (
	"fmt"
	"strings"
)

// Problems are what the service says is wrong with a request: a refusal's message and the
// messages of its fields. The service words them in English, as a fmt format and its
// arguments (experiment.Text), and the API answers them in English, the language of its
// contract. The console says them in the reader's language through Problem, which finds
// the Dutch text under the English format itself: the format is the one name of its text,
// so the service needs no ids and cannot say one thing under two. A format missing here is
// shown in English; the console's tests check that every format the service writes as a
// literal is here (TestServiceProblemsAreInDutch says which it cannot see).
//
// A Dutch text takes the same verbs as its English format, in the same order (the tests
// check it). The arguments are what the service gives: names, keys and values as sent,
// numbers as the API writes them, and the codes of kinds and operators, which the console's
// forms show as codes too. A status is said in words (experiment.Status and AlertStatus
// are Parts): its English word is here as a whole text ("open" is Dutch too), as are the
// service's other whole texts.
var problemsNL = map[string]string{
	"%q is a binary outcome; drivers explain a scale, net, numeric or composite outcome": "%q is een ja/nee-uitkomst; drijfveren verklaren een schaal-, netto-, numerieke of samengestelde uitkomst",
	"%q is named twice":                                  "%q staat er twee keer in",
	"%q is not a number":                                 "%q is geen getal",
	"%q is reserved (it names a plot)":                   "%q is gereserveerd (het is de naam van een grafiek)",
	"%q is reserved for customers without the attribute": "%q is gereserveerd voor klanten zonder dit kenmerk",
	"%q is the outcome itself":                           "%q is de uitkomst zelf",
	"%q must be one of guardrails":                       "%q moet een van de vangrails zijn",
	"%q must be one of outcomes":                         "%q moet een van de uitkomsten zijn",
	"%s does not analyse %s":                             "%s analyseert %s niet",
	"%s is a composite, which is never answered; alert on its components %v": "%s is samengesteld en wordt nooit zelf beantwoord; stel een melding in op de componenten %v",
	"%s takes only value":                                              "%s kent alleen value",
	"%s takes only values":                                             "%s kent alleen values",
	"1 to 1000 values are required for %s":                             "%s vraagt 1 tot en met 1000 waarden",
	"a %s outcome has at most 101 levels":                              "een %s-uitkomst heeft hoogstens 101 niveaus",
	"a composite needs at least 2 components":                          "een samengestelde uitkomst heeft minstens 2 componenten nodig",
	"a finite standard deviation > 0 is required for a %s outcome":     "een %s-uitkomst vraagt een eindige standaarddeviatie > 0",
	"a header line is required":                                        "een kopregel is verplicht",
	"a rate strictly between 0 and 1 is required for a binary outcome": "een ja/nee-uitkomst vraagt een basispercentage tussen 0 en 1 (beide niet meegerekend)",
	"alert %d is %s already":                                           "melding %d is al %s",
	"alert %d not found":                                               "melding %d niet gevonden",
	"already exists":                                                   "bestaat al",
	"an answer key set clashes with a stored one of the same id":       "een set antwoordsleutels botst met een opgeslagen set met hetzelfde id",
	"an API key named %q exists":                                       "er bestaat al een API-sleutel met de naam %q",
	"an experiment needs at least 2 arms (a control and a treatment)":  "een experiment heeft minstens 2 varianten nodig (een controle en een behandeling)",
	"an ingest key cannot sign in to the console":                      "met een ingest-sleutel kunt u niet inloggen in de console",
	"an ingest key cannot sign in to the console; make the link for an admin, editor or analyst key": "met een ingest-sleutel kunt u niet inloggen in de console; maak de link voor een admin-, editor- of analyst-sleutel",
	"arms of experiment %q do not line up":                                           "de varianten van experiment %q sluiten niet op elkaar aan",
	"assignment of a customer was neither inserted nor found":                        "de toewijzing van een klant is niet opgeslagen en niet gevonden",
	"at least one attribute is required":                                             "minstens één kenmerk is verplicht",
	"at least one covariate is required":                                             "minstens één covariaat is verplicht",
	"at least one customer id is required":                                           "minstens één klant-id is verplicht",
	"at least one customer is required":                                              "minstens één klant is verplicht",
	"at least one outcome is needed":                                                 "minstens één uitkomst is nodig",
	"at least one response is required":                                              "minstens één reactie is verplicht",
	"at most %d attributes per customer":                                             "hoogstens %d kenmerken per klant",
	"at most %d characters":                                                          "hoogstens %d tekens",
	"at most %d covariates per batch":                                                "hoogstens %d covariaten per batch",
	"at most %d customer ids per batch":                                              "hoogstens %d klant-id's per batch",
	"at most %d customers per batch":                                                 "hoogstens %d klanten per batch",
	"at most %d drivers (got %d)":                                                    "hoogstens %d drijfveren (gekregen: %d)",
	"at most %d rules":                                                               "hoogstens %d regels",
	"at most %d waves":                                                               "hoogstens %d golven",
	"at most %g (weights are relative shares)":                                       "hoogstens %g (gewichten zijn onderlinge verhoudingen)",
	"at most %g of layer %q is free":                                                 "hoogstens %g van laag %q is vrij",
	"at most 20 rules":                                                               "hoogstens 20 regels",
	"at most 50 arms":                                                                "hoogstens 50 varianten",
	"baseline_rate + mde must stay strictly between 0 and 1":                         "baseline_rate + mde moet tussen 0 en 1 blijven (beide niet meegerekend)",
	"batch too large":                                                                "batch te groot",
	"binary outcomes take baseline_rate, not sd":                                     "ja/nee-uitkomsten gebruiken baseline_rate, geen sd",
	"cannot change once the experiment is %s":                                        "kan niet meer veranderen nu het experiment geen concept meer is (status: %s)",
	"choose a primary outcome first":                                                 "kies eerst een primaire uitkomst",
	"column %d has no outcome key":                                                   "kolom %d heeft geen uitkomstsleutel",
	"column %d must be %s, not %q":                                                   "kolom %d moet %s zijn, niet %q",
	"column %d: %s":                                                                  "kolom %d: %s",
	"column %q appears twice":                                                        "kolom %q komt twee keer voor",
	"component %q is itself a composite":                                             "component %q is zelf samengesteld",
	"component %q is listed twice":                                                   "component %q staat er twee keer in",
	"component %q needs min and max to be rescaled":                                  "component %q heeft min en max nodig om te herschalen",
	"coverage %g overlaps another experiment of layer %q":                            "dekking %g overlapt met een ander experiment in laag %q",
	"CUPED applies to scale, numeric and composite outcomes, not %s":                 "CUPED geldt voor schaal-, numerieke en samengestelde uitkomsten, niet voor %s",
	"customer is not assigned in this experiment":                                    "klant is in dit experiment niet toegewezen",
	"customer is not assigned in this experiment; assign before recording responses": "klant is in dit experiment niet toegewezen; wijs eerst toe en leg dan reacties vast",
	"customers are only assigned while it is running":                                "klanten worden alleen toegewezen zolang het loopt",
	"database unavailable":                                                           "database niet bereikbaar",
	"database unavailable: the connection was lost during COPY":                      "database niet bereikbaar: de verbinding viel weg tijdens COPY",
	"decided":                         "besloten",
	"draft":                           "concept",
	"driver %d is empty":              "drijfveer %d is leeg",
	"duplicate arm key %q":            "variantsleutel %q komt twee keer voor",
	"duplicate wave key %q":           "golfsleutel %q komt twee keer voor",
	"duplicates row %d of this batch": "herhaalt rij %d van deze batch",
	"duplicates rules[%d]":            "herhaalt rules[%d]",
	"empty batch":                     "lege batch",
	"empty file":                      "leeg bestand",
	"exactly one arm must be the control (found %d)":                                                                "precies één variant moet de controle zijn (gevonden: %d)",
	"experiment %q already exists":                                                                                  "experiment %q bestaat al",
	"experiment %q changed since version %d; it is now at version %d: read it again":                                "experiment %q is veranderd sinds versie %d; het is nu bij versie %d: lees het opnieuw",
	"experiment %q does not analyse %q (nor has it as a component of an outcome)":                                   "experiment %q analyseert %q niet (en heeft het ook niet als component van een uitkomst)",
	"experiment %q does not analyse %q (nor has it as a component of an outcome); choose one of %s":                 "experiment %q analyseert %q niet (en heeft het ook niet als component van een uitkomst); kies uit %s",
	"experiment %q has no building block to explain %q by; name the drivers":                                        "experiment %q heeft geen bouwsteen om %q mee te verklaren; noem de drijfveren",
	"experiment %q has no decision wave %q":                                                                         "experiment %q heeft geen beslisgolf %q",
	"experiment %q has no wave %q":                                                                                  "experiment %q heeft geen golf %q",
	"experiment %q is %s":                                                                                           "experiment %q heeft de status %s",
	"experiment %q is %s; %s":                                                                                       "experiment %q heeft de status %s; %s",
	"experiment %q is %s; customers are assigned while it is running and served the decided arm once it is decided": "experiment %q heeft de status %s; klanten worden toegewezen zolang het loopt, en krijgen de gekozen variant zodra erover besloten is",
	"experiment %q is %s; it cannot move to %s":                                                                     "experiment %q heeft de status %s en kan niet de status %s krijgen",
	"experiment %q is decided without a decision":                                                                   "over experiment %q is besloten, maar er is geen besluit",
	"experiment %q is no longer running; %s":                                                                        "experiment %q loopt niet meer; %s",
	"experiment %q is no longer running; customers are only assigned while it is running":                           "experiment %q loopt niet meer; klanten worden alleen toegewezen zolang het loopt",
	"experiment %q not found":                                                                                       "experiment %q niet gevonden",
	"experiment not found":                                                                                          "experiment niet gevonden",
	"has role ingest; use an admin, editor or analyst key":                                                          "heeft de rol ingest; gebruik een admin-, editor- of analyst-sleutel",
	"internal error":                    "interne fout",
	"invalid alert rules":               "ongeldige meldingsregels",
	"invalid API key":                   "ongeldige API-sleutel",
	"invalid assignment request":        "ongeldig toewijzingsverzoek",
	"invalid attributes":                "ongeldige kenmerken",
	"invalid covariates":                "ongeldige covariaten",
	"invalid CSV header":                "ongeldige CSV-kopregel",
	"invalid customer attributes":       "ongeldige klantkenmerken",
	"invalid customer id":               "ongeldig klant-id",
	"invalid decision":                  "ongeldig besluit",
	"invalid drivers question":          "ongeldige vraag naar drijfveren",
	"invalid experiment":                "ongeldig experiment",
	"invalid filter":                    "ongeldig filter",
	"invalid note":                      "ongeldige notitie",
	"invalid outcome":                   "ongeldige uitkomst",
	"invalid power plan":                "ongeldig steekproefplan",
	"invalid query":                     "ongeldige parameter",
	"invalid responses":                 "ongeldige reacties",
	"invalid sign-in":                   "ongeldige inlogpoging",
	"invalid start":                     "ongeldige start",
	"is not a known outcome":            "is geen bekende uitkomst",
	"is not an active API key":          "is geen actieve API-sleutel",
	"is required (%d to %d characters)": "is verplicht (%d tot en met %d tekens)",
	"is required for %s":                "is verplicht bij %s",
	"is required for a %s outcome":      "is verplicht bij een %s-uitkomst",
	"is required for a net outcome":     "is verplicht bij een netto-uitkomst",
	"is required":                       "is verplicht",
	"is required: say why, for whoever reads the decision later":                                                    "is verplicht: zeg waarom, voor wie het besluit later leest",
	"is required: the audit log and decisions record who you are":                                                   "is verplicht: het auditlogboek en de besluiten leggen vast wie u bent",
	"keys, order, weights and control are frozen once the experiment is %s; only names and descriptions may change": "sleutels, volgorde, gewichten en controle liggen vast nu het experiment geen concept meer is (status: %s); alleen namen en beschrijvingen mogen nog veranderen",
	"layer %q has no free range of %g left":                                                                         "laag %q heeft geen vrij deel van %g meer",
	"lies more than a day in the future":                                                                            "ligt meer dan een dag in de toekomst",
	"malformed CSV; nothing was imported":                                                                           "onleesbare CSV; er is niets ingelezen",
	"may only grow once the experiment is %s (customers already assigned stay)":                                     "mag alleen nog groeien nu het experiment geen concept meer is (status: %s; klanten die al zijn toegewezen blijven)",
	"more than %d per arm needed":                                                                                   "meer dan %d per variant nodig",
	"must be 1-63 lower-case letters, digits or underscores, starting with a letter":                                "moet 1-63 kleine letters, cijfers of liggende streepjes zijn, beginnend met een letter",
	"must be 1-63 lower-case letters, digits, '-' or '_'":                                                           "moet 1-63 kleine letters, cijfers, '-' of '_' zijn",
	"must be > 0 and < 0.5":                                                                                         "moet > 0 en < 0,5 zijn",
	"must be > 0 and < 1":                                                                                           "moet > 0 en < 1 zijn",
	"must be > 0 and <= 1":                                                                                          "moet > 0 en <= 1 zijn",
	"must be > 0":                                                                                                   "moet > 0 zijn",
	"must be >= min":                                                                                                "moet >= min zijn",
	"must be a finite number > 0":                                                                                   "moet een eindig getal > 0 zijn",
	"must be a finite number":                                                                                       "moet een eindig getal zijn",
	"must be 0 or between 1e-100 and 1e100 in absolute value":                                                       "moet 0 zijn of in absolute waarde tussen 1e-100 en 1e100 liggen",
	"must be a non-zero finite number":                                                                              "moet een eindig getal zijn dat niet 0 is",
	"must be a number":                                                                                              "moet een getal zijn",
	"must be a whole number":                                                                                        "moet een geheel getal zijn",
	"must be admin, editor, analyst or ingest":                                                                      "moet admin, editor, analyst of ingest zijn",
	"must be an integer for a %s outcome":                                                                           "moet een geheel getal zijn bij een %s-uitkomst",
	"must be an RFC 3339 timestamp such as 2026-03-01T10:00:00Z":                                                    "moet een RFC 3339-tijdstip zijn, zoals 2026-03-01T10:00:00Z",
	"must be at least from_day (%d)":                                                                                "moet minstens from_day (%d) zijn",
	"must be at most %d characters":                                                                                 "mag hoogstens %d tekens lang zijn",
	"must be draft, running, stopped or decided":                                                                    "moet draft, running, stopped of decided zijn",
	"must be eq, neq, in, not_in or range":                                                                          "moet eq, neq, in, not_in of range zijn",
	"must be from 0 to %d (days since assignment)":                                                                  "moet van 0 tot en met %d zijn (dagen sinds de toewijzing)",
	"must be from 1 to 1000":                                                                                        "moet van 1 tot en met 1000 zijn",
	"must be greater than min":                                                                                      "moet groter zijn dan min",
	"must be holm, bh or none":                                                                                      "moet holm, bh of none zijn",
	"must be one of <=, >=, ==, <, >":                                                                               "moet een van <=, >=, ==, <, > zijn",
	"must be one of scale, net, binary, numeric, composite":                                                         "moet een van scale, net, binary, numeric, composite zijn",
	"must be open or resolved":                                                                                      "moet open of resolved zijn",
	"must be scale, net, binary, numeric or composite":                                                              "moet scale, net, binary, numeric of composite zijn",
	"must be valid UTF-8":                                                                                           "moet geldige UTF-8 zijn",
	"must come after waves[%d] (day %d to %d): waves are listed in ascending order":                                 "moet na waves[%d] komen (dag %d tot en met %d): golven staan in oplopende volgorde",
	"must contain printable characters only":                                                                        "mag alleen afdrukbare tekens bevatten",
	"must not contain control characters":                                                                           "mag geen stuurtekens bevatten",
	"must not contain NUL or other control characters (found %U)":                                                   "mag geen NUL of andere stuurtekens bevatten (gevonden: %U)",
	"name %s": "naam %s",
	"name at least one driver, or leave the parameter out for the building blocks":  "noem minstens één drijfveer, of laat de parameter weg voor de bouwstenen",
	"names are lower-case identifiers, values 1-128 printable characters":           "namen zijn kleine letters, cijfers of liggende streepjes, waarden 1-128 afdrukbare tekens",
	"need columns response_id,customer_id,answered_at and at least one outcome key": "vraagt de kolommen response_id,customer_id,answered_at en minstens één uitkomstsleutel",
	"need min <= bottom_max < top_min <= max":                                       "vraagt min <= bottom_max < top_min <= max",
	"no active API key named %q":                                                    "geen actieve API-sleutel met de naam %q",
	"no feasible sample size":                                                       "geen haalbare steekproefomvang",
	"no numbers to plan from":                                                       "geen getallen om mee te plannen",
	"no outcome %q exists":                                                          "er bestaat geen uitkomst %q",
	"no such alert":                                                                 "deze melding bestaat niet",
	"no such session":                                                               "deze sessie bestaat niet",
	"no such sign-in link":                                                          "deze inloglink bestaat niet",
	"not admitted: outside the experiment's coverage or layer range":                "niet toegelaten: buiten de dekking of het bereik in de laag van het experiment",
	"not running":   "loopt niet",
	"not signed in": "niet ingelogd",
	"only binary outcomes have a baseline rate":                            "alleen ja/nee-uitkomsten hebben een basispercentage",
	"only composite outcomes have components":                              "alleen samengestelde uitkomsten hebben componenten",
	"only net outcomes have bottom_max":                                    "alleen netto-uitkomsten hebben bottom_max",
	"only net outcomes have top_min":                                       "alleen netto-uitkomsten hebben top_min",
	"outcome %q already exists":                                            "uitkomst %q bestaat al",
	"outcome %q is listed twice":                                           "uitkomst %q staat er twee keer in",
	"outcome %q is not analysed in this experiment":                        "uitkomst %q wordt in dit experiment niet geanalyseerd",
	"outcome %q is not answered in this experiment":                        "uitkomst %q wordt in dit experiment niet beantwoord",
	"outcome %q not found":                                                 "uitkomst %q niet gevonden",
	"overlaps another experiment of the layer":                             "overlapt met een ander experiment in de laag",
	"overlaps waves[%d] (day %d to %d): must be after day %d":              "overlapt met waves[%d] (dag %d tot en met %d): moet na dag %d liggen",
	"range needs min, max or both":                                         "range vraagt min, max of beide",
	"range takes only min and max":                                         "range kent alleen min en max",
	"refused by a database constraint":                                     "geweigerd door een regel van de database",
	"refused by the database: text with a NUL or bytes that are not UTF-8": "geweigerd door de database: tekst met een NUL of met bytes die geen UTF-8 zijn",
	"resolved": "opgelost",
	"response %q was neither stored nor found":              "reactie %q is niet opgeslagen en niet gevonden",
	"response_id reused with other content":                 "response_id opnieuw gebruikt met een andere inhoud",
	"responses are accepted while it is running or stopped": "reacties worden aangenomen zolang het loopt of gestopt is",
	"responses from unassigned customers":                   "reacties van klanten die niet zijn toegewezen",
	"running":                                               "loopt",
	"signed out":                                            "uitgelogd",
	"some response_ids were stored concurrently; nothing was imported, run the import again": "sommige response_ids zijn tegelijk elders opgeslagen; er is niets ingelezen, lees opnieuw in",
	"stopped": "gestopt",
	"the API key of this session was revoked":                                                                                          "de API-sleutel van deze sessie is ingetrokken",
	"the control arm of %s has too few answers to %s":                                                                                  "de controlevariant van %s heeft te weinig antwoorden op %s",
	"the counts of a running experiment's assignments cannot be read":                                                                  "de aantallen toewijzingen van een actief experiment zijn niet te lezen",
	"the database did not answer in time; try again or narrow the request":                                                             "de database antwoordde niet op tijd; probeer het opnieuw of vraag minder tegelijk",
	"the database rolled this write back for a concurrent one; nothing was stored, send it again":                                      "de database heeft deze schrijfactie teruggedraaid voor een gelijktijdige; er is niets opgeslagen, stuur het opnieuw",
	"the service is shutting down; retry on another instance":                                                                          "de dienst wordt afgesloten; probeer het opnieuw bij een andere instantie",
	"the session expired after %s without use; sign in again":                                                                          "de sessie is verlopen na %s zonder gebruik; log opnieuw in",
	"the store cannot read customer attributes":                                                                                        "de opslag kan geen klantkenmerken lezen",
	"the store cannot sum changes between waves":                                                                                       "de opslag kan geen veranderingen tussen golven optellen",
	"the store keeps no headlines":                                                                                                     "de opslag houdt geen kerncijfers bij",
	"the stored version is %d":                                                                                                         "de opgeslagen versie is %d",
	"the waves are frozen once the experiment is %s; new waves may only be added after the last one, and labels changed":               "de golven liggen vast nu het experiment geen concept meer is (status: %s); er mogen alleen nieuwe golven na de laatste bij, en labels mogen veranderen",
	"this experiment holds numbers too large or too small to compute with; the analysis takes 0 and 1e-100 to 1e100 in absolute value": "dit experiment bevat getallen die te groot of te klein zijn om mee te rekenen; de analyse neemt 0 en 1e-100 tot 1e100 in absolute waarde",
	"this sign-in link is unknown, used, expired or of a revoked key; ask for a new one or sign in with an API key":                    "deze inloglink is onbekend, al gebruikt, verlopen of van een ingetrokken sleutel; vraag een nieuwe aan, of log in met een API-sleutel",
	"too many new assignments of this experiment are waiting for the database; retry in a moment":                                      "te veel nieuwe toewijzingen van dit experiment wachten op de database; probeer het zo opnieuw",
	"unknown arm %q":             "onbekende variant %q",
	"unknown or revoked API key": "onbekende of ingetrokken API-sleutel",
	"unknown outcome %q":         "onbekende uitkomst %q",
	"unknown wave %q":            "onbekende golf %q",
	"unknown wave":               "onbekende golf",
}

// Parts is a text kept as its English format and arguments (experiment.Text).
type Parts interface {
	Parts() (format string, args []any)
}

// Problem is format with args in lang: in Dutch when this table has format, else in
// English. An argument that is a Parts is said in lang too. A whole text passed on as "%s"
// (an Error's or a Detail's Message) is found as it is, when it takes no arguments.
func Problem(lang, format string, args ...any) string {
	if format == "%s" && len(args) == 1 {
		if s, ok := args[0].(string); ok && !strings.Contains(s, "%") {
			format, args = s, nil
		}
	}
	said := make([]any, len(args))
	for i, a := range args {
		if p, ok := a.(Parts); ok {
			f, as := p.Parts()
			a = Problem(lang, f, as...)
		}
		said[i] = a
	}
	if nl, ok := problemsNL[format]; ok && Normalize(lang) == Dutch {
		format = nl
	}
	return fmt.Sprintf(format, said...)
}

// HasProblem reports whether format has a Dutch text.
func HasProblem(format string) bool {
	_, ok := problemsNL[format]
	return ok
}
