package console_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krslab/krslab/api"
	"github.com/krslab/krslab/api/console"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
	"github.com/krslab/krslab/stats/i18n"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is the API and the console over the package's test database.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	svc   *experiment.Service
	store *postgres.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store := pgtest.Store(t)
	svc := experiment.NewService(store)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := api.New(svc, api.Config{Logger: log, Ready: store})
	console.Mount(e, svc, console.Config{Logger: log})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	t.Cleanup(svc.Close)
	return &env{t: t, srv: srv, svc: svc, store: store}
}

var seq atomic.Int64

func (e *env) key(role experiment.Role) (string, experiment.APIKey) {
	e.t.Helper()
	secret, k, err := e.svc.CreateAPIKey(context.Background(), fmt.Sprintf("%s-%d", role, seq.Add(1)), role)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret, k
}

// browser is a client with cookies that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, base: e.srv.URL, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var csrfPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token is the form token of the page at path.
func (b *browser) token(path string) string {
	b.t.Helper()
	code, body := b.get(path)
	if code != http.StatusOK {
		b.t.Fatalf("GET %s: %d\n%s", path, code, body)
	}
	m := csrfPattern.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no form token on %s", path)
	}
	return m[1]
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) signIn(secret, name string) {
	b.t.Helper()
	resp, body := b.post("/sign-in", url.Values{"csrf": {b.token("/sign-in")}, "key": {secret}, "name": {name}, "next": {"/experiments"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/experiments" {
		b.t.Fatalf("sign-in: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

func TestSignInSetsAStrictSessionCookie(t *testing.T) {
	e := newEnv(t)
	secret, _ := e.key(experiment.RoleAnalyst)
	b := e.browser()
	if code, _ := b.get("/experiments"); code != http.StatusSeeOther {
		t.Fatalf("list before sign-in: %d, want a redirect to the sign-in page", code)
	}
	tok := b.token("/sign-in")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/sign-in", strings.NewReader(url.Values{"csrf": {tok}, "key": {secret}, "name": {"Anna"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == api.SessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure (behind https) and SameSite=Strict", session)
	}
	if strings.Contains(session.Value, secret) {
		t.Fatal("the cookie carries the API key")
	}
	if code, body := b.get("/experiments"); code != http.StatusOK || !strings.Contains(body, "Anna") {
		t.Fatalf("list after sign-in: %d", code)
	}
}

func TestSignInNamesTheFieldsThatAreWrong(t *testing.T) {
	e := newEnv(t)
	_, _ = e.key(experiment.RoleAnalyst)
	ingest, _ := e.key(experiment.RoleIngest)
	for _, tt := range []struct {
		name, key, person string
		status            int
		field             string
	}{
		{"no name", "krs_x", "", http.StatusUnprocessableEntity, "name"},
		{"no key", "", "Anna", http.StatusUnprocessableEntity, "key"},
		{"unknown key", "krs_unknown", "Anna", http.StatusUnauthorized, "key"},
		{"ingest key", ingest, "Anna", http.StatusForbidden, "key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			resp, body := b.post("/sign-in", url.Values{"csrf": {b.token("/sign-in")}, "key": {tt.key}, "name": {tt.person}})
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if !strings.Contains(body, `id="`+tt.field+`-error"`) || !strings.Contains(body, `aria-invalid="true"`) {
				t.Errorf("no error beside %s:\n%s", tt.field, body)
			}
		})
	}
}

func TestFormsNeedTheirToken(t *testing.T) {
	e := newEnv(t)
	secret, _ := e.key(experiment.RoleEditor)
	b := e.browser()
	b.signIn(secret, "Eva")
	for _, tt := range []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no token", url.Values{"lang": {"nl"}}, nil},
		{"wrong token", url.Values{"lang": {"nl"}, "csrf": {"forged"}}, nil},
		{"other site", url.Values{"lang": {"nl"}, "csrf": {b.token("/experiments")}}, map[string]string{"Origin": "https://evil.example"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/language", strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			resp, err := b.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", resp.StatusCode)
			}
		})
	}
	if resp, _ := b.post("/language", url.Values{"lang": {"nl"}, "csrf": {b.token("/experiments")}, "next": {"/experiments"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("with its token: %d", resp.StatusCode)
	}
	if _, body := b.get("/experiments"); !strings.Contains(body, `<html lang="nl">`) || !strings.Contains(body, "Experimenten") {
		t.Error("the language is not remembered for the session")
	}
}

func TestRolesAreCheckedOnEveryPost(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreateExperiment(ctx, experiment.Experiment{Key: "roles", Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "t", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	secret, _ := e.key(experiment.RoleAnalyst)
	b := e.browser()
	b.signIn(secret, "Anna")
	code, body := b.get("/experiments/roles")
	if code != http.StatusOK || strings.Contains(body, `id="start-form"`) {
		t.Fatalf("an analyst's page: %d, start form shown: %v", code, strings.Contains(body, `id="start-form"`))
	}
	tok := b.token("/experiments/roles")
	for _, path := range []string{"/experiments/roles/start", "/experiments/roles/stop", "/experiments/roles/decision", "/experiments/new", "/outcomes/new"} {
		if resp, _ := b.post(path, url.Values{"csrf": {tok}, "confirm": {"yes"}, "arm": {"t"}, "reason": {"x"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s as analyst: %d, want 403", path, resp.StatusCode)
		}
	}
	if got, _ := e.svc.Experiment(ctx, "roles"); got.Status != experiment.Draft {
		t.Errorf("status %s after refused posts", got.Status)
	}
}

func TestRevokedKeyEndsItsSessions(t *testing.T) {
	e := newEnv(t)
	e.svc.Keys.MaxAge = 200 * time.Millisecond
	secret, k := e.key(experiment.RoleEditor)
	b := e.browser()
	b.signIn(secret, "Eva")
	if err := e.svc.RevokeAPIKey(context.Background(), k.Name); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(6 * time.Second)
	for {
		code, _ := b.get("/experiments")
		if code == http.StatusSeeOther {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked key's session still answers %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The session also stops working for the API's downloads.
	if code, _ := b.get("/v1/experiments"); code != http.StatusUnauthorized {
		t.Errorf("API with the revoked session: %d", code)
	}
}

// A link of a key revoked since it was made: its page says it cannot sign in, and sending
// its form anyway does not use it up.
func TestSignInLinkOfARevokedKey(t *testing.T) {
	e := newEnv(t)
	_, k := e.key(experiment.RoleEditor)
	link, err := e.svc.CreateSignInLink(context.Background(), k, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeAPIKey(context.Background(), k.Name); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	if code, body := b.get("/sign-in/link?token=" + link); code != http.StatusUnauthorized || strings.Contains(body, `name="token"`) ||
		!strings.Contains(body, i18n.T("en", "console.link.dead")) {
		t.Errorf("a revoked key's link page: %d\n%s", code, body)
	}
	tok := b.token("/sign-in")
	if resp, _ := b.post("/sign-in/link", url.Values{"csrf": {tok}, "token": {link}, "name": {"Eva"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("signing in with a revoked key's link: %d", resp.StatusCode)
	}
	var used int
	if err := e.store.DB().Get(&used, `SELECT count(*) FROM sign_in_links WHERE key_id = $1 AND used_at IS NOT NULL`, k.ID); err != nil || used != 0 {
		t.Errorf("%d links of the revoked key used up (%v)", used, err)
	}
}

func TestSignInLinkWorksOnce(t *testing.T) {
	e := newEnv(t)
	_, k := e.key(experiment.RoleEditor)
	link, err := e.svc.CreateSignInLink(context.Background(), k, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	// Fetching the link (a chat app's preview) signs nobody in and uses nothing up.
	for range 2 {
		if code, body := b.get("/sign-in/link?token=" + link); code != http.StatusOK || !strings.Contains(body, `name="token"`) {
			t.Fatalf("link page: %d", code)
		}
	}
	tok := b.token("/sign-in/link?token=" + link)
	if resp, body := b.post("/sign-in/link", url.Values{"csrf": {tok}, "token": {link}, "name": {"Eva"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use: %d\n%s", resp.StatusCode, body)
	}
	other := e.browser()
	// A used link's page says so at once and asks for no name; a form loaded before the link
	// was used (another tab) is refused.
	if code, body := other.get("/sign-in/link?token=" + link); code != http.StatusUnauthorized ||
		!strings.Contains(body, i18n.T("en", "console.link.dead")) || strings.Contains(body, `name="token"`) {
		t.Errorf("used link's page: %d\n%s", code, body)
	}
	tok = other.token("/sign-in")
	if resp, _ := other.post("/sign-in/link", url.Values{"csrf": {tok}, "token": {link}, "name": {"Mallory"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("second use: %d, want 401", resp.StatusCode)
	}
	if code, body := other.get("/sign-in/link?token=krsl_unknown"); code != http.StatusUnauthorized || strings.Contains(body, `name="token"`) {
		t.Errorf("unknown link's page: %d", code)
	}
	entries, err := e.svc.Audit(context.Background(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range entries {
		found = found || (a.Action == "session.sign_in" && a.Actor == "Eva ("+k.Name+")")
	}
	if !found {
		t.Errorf("no sign-in of Eva in the audit log: %+v", entries)
	}
}

func TestCreateExperimentShowsErrorsBesideFieldsAndStoresNothing(t *testing.T) {
	e := newEnv(t)
	secret, _ := e.key(experiment.RoleEditor)
	b := e.browser()
	b.signIn(secret, "Eva")
	form := url.Values{"csrf": {b.token("/experiments/new")}, "action": {"create"},
		"key": {"form-made"}, "name": {"Made in the form"},
		"arm_key": {"control", "call"}, "arm_name": {"Usual", "Call"}, "arm_description": {"", ""}, "arm_weight": {"1", "abc"},
		"control": {"0"}, "primary_outcome": {"krs"}, "outcomes": {"krs", "nps", "ces"}, "guardrails": {"ces"}, "margin_ces": {"-3"},
		"alpha": {"0.05"}, "correction": {"holm"}, "coverage": {"1"}, "rule_attribute": {""}, "rule_op": {"in"}, "rule_values": {""}}
	resp, body := b.post("/experiments/new", form)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", resp.StatusCode)
	}
	for _, id := range []string{"arm-weight-1-error", "margin_ces-error"} {
		if !strings.Contains(body, `id="`+id+`"`) {
			t.Errorf("no error %s beside its field", id)
		}
	}
	if !strings.Contains(body, `value="Made in the form"`) {
		t.Error("the refused form does not keep what was typed")
	}
	if _, err := e.svc.Experiment(context.Background(), "form-made"); experiment.ErrorCode(err) != experiment.NotFound {
		t.Fatalf("a refused form stored the experiment: %v", err)
	}
	form.Set("arm_weight", "1")
	form["arm_weight"] = []string{"1", "1"}
	form.Set("margin_ces", "3")
	resp, body = b.post("/experiments/new", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/experiments/form-made" {
		t.Fatalf("valid form: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	got, err := e.svc.Experiment(context.Background(), "form-made")
	if err != nil || got.Status != experiment.Draft || got.Arms[1].Name != "Call" || got.GuardrailMargins["ces"] != 3 {
		t.Fatalf("stored %+v, %v", got, err)
	}
}

// TestRefusalsInTheReadersLanguage: what the service says is wrong (beside a field, above
// the form, or on an error page) is shown in Dutch in the Dutch console and in English in
// the English one, arguments and all.
func TestRefusalsInTheReadersLanguage(t *testing.T) {
	e := newEnv(t)
	secret, _ := e.key(experiment.RoleEditor)
	ctx := context.Background()
	if _, err := e.svc.CreateExperiment(ctx, experiment.Experiment{Key: "started", Arms: []experiment.Arm{
		{Key: "control", Name: "Usual", Weight: 1, Control: true}, {Key: "call", Name: "Call-back", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Start(ctx, "started"); err != nil {
		t.Fatal(err)
	}
	form := func(b *browser) url.Values {
		return url.Values{"csrf": {b.token("/experiments/new")}, "action": {"create"},
			"key": {"Not A Key"}, "name": {"Refused"},
			"arm_key": {"control", "control"}, "arm_name": {"Usual", "Call"}, "arm_description": {"", ""}, "arm_weight": {"1", "abc"},
			"control": {"0"}, "primary_outcome": {"krs"}, "outcomes": {"krs", "nps", "ces"}, "guardrails": {"ces"}, "margin_ces": {"-3"},
			"alpha": {"0.7"}, "correction": {"holm"}, "coverage": {"1"}, "rule_attribute": {""}, "rule_op": {"in"}, "rule_values": {""}}
	}
	for _, tt := range []struct {
		lang      string
		want, not []string
	}{
		{"nl", []string{"moet een getal zijn", "variantsleutel &#34;control&#34; komt twee keer voor", "moet 1-63 kleine letters, cijfers, &#39;-&#39; of &#39;_&#39; zijn", "moet &gt; 0 en &lt; 0,5 zijn",
			"moet een eindig getal &gt; 0 zijn", "experiment &#34;nope&#34; niet gevonden",
			"experiment &#34;started&#34; heeft de status loopt en kan niet de status loopt krijgen", "meer dan 1073741824 per variant nodig"},
			[]string{"must be", "not found"}},
		{"en", []string{"must be a number", "duplicate arm key &#34;control&#34;", "must be 1-63 lower-case letters, digits, &#39;-&#39; or &#39;_&#39;", "must be &gt; 0 and &lt; 0.5",
			"must be a finite number &gt; 0", "experiment &#34;nope&#34; not found",
			"experiment &#34;started&#34; is running; it cannot move to running", "more than 1073741824 per arm needed"},
			[]string{"moet", "niet gevonden"}},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			b := e.browser()
			b.signIn(secret, "Eva")
			if resp, _ := b.post("/language", url.Values{"lang": {tt.lang}, "csrf": {b.token("/experiments")}, "next": {"/experiments"}}); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("language: %d", resp.StatusCode)
			}
			// The weight's problem is the console's own, the others are the service's.
			resp, refused := b.post("/experiments/new", form(b))
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", resp.StatusCode)
			}
			status, missing := b.get("/experiments/nope")
			if status != http.StatusNotFound {
				t.Fatalf("status %d, want 404", status)
			}
			page := "/experiments/started"
			resp, again := b.post(page+"/start", url.Values{"csrf": {b.token(page)}, "confirm": {"yes"}})
			if resp.StatusCode != http.StatusConflict {
				t.Fatalf("second start: status %d, want 409", resp.StatusCode)
			}
			_, plan := b.get("/power?kind=scale&sd=1000&mde=0.0001&alpha=0.05&power=0.8&comparisons=1")
			all := refused + missing + again + plan
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("no %q", w)
				}
			}
			said := regexp.MustCompile(`(?s)<p class="field-error"[^>]*>.*?</p>|<div class="problem".*?</div>`).FindAllString(all, -1)
			if len(said) < 9 {
				t.Fatalf("%d problems shown, want at least 9:\n%s", len(said), strings.Join(said, "\n"))
			}
			for _, n := range tt.not {
				for _, m := range said {
					if strings.Contains(m, n) {
						t.Errorf("%q in %s", n, m)
					}
				}
			}
		})
	}
}

func TestPlannerFillsTheTarget(t *testing.T) {
	e := newEnv(t)
	secret, _ := e.key(experiment.RoleEditor)
	b := e.browser()
	b.signIn(secret, "Eva")
	form := url.Values{"csrf": {b.token("/experiments/new")}, "action": {"plan"}, "key": {"planned"},
		"arm_key": {"control", "t"}, "arm_weight": {"1", "1"}, "control": {"0"}, "primary_outcome": {"krs"},
		"alpha": {"0.05"}, "sd": {"20"}, "mde": {"5"}, "power": {"0.8"}}
	resp, body := b.post("/experiments/new", form)
	ans, _ := (experiment.PowerPlan{Kind: experiment.Composite, SD: ptr(20.0), MDE: 5, Alpha: 0.05, Power: 0.8}).SampleSize()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`id="target_responses_per_arm" name="target_responses_per_arm" type="text" value="%d"`, ans.NPerArm)) {
		t.Fatalf("planner: %d, target %d not filled in:\n%s", resp.StatusCode, ans.NPerArm, body)
	}
	if _, err := e.svc.Experiment(context.Background(), "planned"); experiment.ErrorCode(err) != experiment.NotFound {
		t.Fatal("planning stored the experiment")
	}
}

func TestDecideInTheConsole(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreateExperiment(ctx, experiment.Experiment{Key: "decide-me", Arms: []experiment.Arm{
		{Key: "control", Name: "Usual", Weight: 1, Control: true}, {Key: "call", Name: "Call-back", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	secret, k := e.key(experiment.RoleEditor)
	b := e.browser()
	b.signIn(secret, "Pieter Product")
	page := "/experiments/decide-me"
	if resp, body := b.post(page+"/start", url.Values{"csrf": {b.token(page)}}); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body, `id="confirm-start-error"`) {
		t.Fatalf("start without the confirmation: %d", resp.StatusCode)
	}
	for _, step := range []string{"start", "stop"} {
		if resp, body := b.post(page+"/"+step, url.Values{"csrf": {b.token(page)}, "confirm": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%s", step, resp.StatusCode, body)
		}
	}
	if resp, body := b.post(page+"/decision", url.Values{"csrf": {b.token(page)}, "confirm": {"yes"}, "arm": {"call"}, "reason": {""}}); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body, `id="reason-error"`) {
		t.Fatalf("decision without a reason: %d", resp.StatusCode)
	}
	if resp, body := b.post(page+"/decision", url.Values{"csrf": {b.token(page)}, "confirm": {"yes"}, "arm": {"call"}, "reason": {"Trust up, effort not worse"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("decision: %d\n%s", resp.StatusCode, body)
	}
	got, err := e.svc.Experiment(ctx, "decide-me")
	want := "Pieter Product (" + k.Name + ")"
	if err != nil || got.Status != experiment.Decided || got.Decision.Arm != "call" || got.Decision.DecidedBy != want {
		t.Fatalf("after deciding: %+v %v", got.Decision, err)
	}
	if _, body := b.get(page); !strings.Contains(body, `id="decision"`) || !strings.Contains(body, want) || !strings.Contains(body, "Trust up, effort not worse") {
		t.Error("the page does not show who decided and why")
	}
	a, err := e.svc.Assign(ctx, "decide-me", "someone-new", nil)
	if err != nil || a.Arm != "call" || !a.Decided {
		t.Errorf("assignment after the decision: %+v %v", a, err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestThePageOfAnExperimentItsDatabaseCannotAnalyse: when the database cannot compute an
// experiment's results (here a number of 1e200 stored before the rule that refuses it; a
// timeout likewise), its page says why in the reader's language and still offers what needs
// no analysis: the experiment can be stopped, and then decided.
func TestThePageOfAnExperimentItsDatabaseCannotAnalyse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreateOutcome(ctx, experiment.Outcome{Key: "spend", Kind: experiment.Numeric, Label: "Spend", HigherIsBetter: true}); err != nil {
		t.Fatal(err)
	}
	key := "beyond-float8"
	if _, err := e.svc.CreateExperiment(ctx, experiment.Experiment{Key: key, Outcomes: []string{"spend"}, PrimaryOutcome: "spend",
		Arms: []experiment.Arm{{Key: "control", Name: "Usual", Weight: 1, Control: true}, {Key: "call", Name: "Call-back", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Start(ctx, key); err != nil {
		t.Fatal(err)
	}
	var ids []string
	var rs []experiment.Response
	for i := range 20 {
		id := fmt.Sprintf("c%02d", i)
		ids = append(ids, id)
		rs = append(rs, experiment.Response{ResponseID: "r" + id, CustomerID: id, AnsweredAt: time.Now().Add(-time.Hour),
			Answers: map[string]float64{"spend": float64(10 + i)}})
	}
	if _, err := e.svc.AssignBatch(ctx, key, ids); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RecordResponses(ctx, key, rs, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.DB().Exec(`UPDATE responses SET answer_values = '{1e200}' WHERE response_id = 'rc03'`); err != nil {
		t.Fatal(err)
	}
	secret, _ := e.key(experiment.RoleEditor)
	page := "/experiments/" + key
	for _, tt := range []struct{ lang, headline, reason string }{
		{"en", "The results cannot be computed now", "this experiment holds numbers too large or too small to compute with"},
		{"nl", "De resultaten zijn nu niet te berekenen", "dit experiment bevat getallen die te groot of te klein zijn om mee te rekenen"},
	} {
		b := e.browser()
		b.signIn(secret, "Eva")
		if resp, _ := b.post("/language", url.Values{"lang": {tt.lang}, "csrf": {b.token("/experiments")}, "next": {"/experiments"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("language: %d", resp.StatusCode)
		}
		status, body := b.get(page)
		if status != http.StatusOK || !strings.Contains(body, tt.headline) || !strings.Contains(body, tt.reason) ||
			!strings.Contains(body, `id="stop-form"`) || strings.Contains(body, `id="effects"`) || strings.Contains(body, `id="drivers"`) {
			t.Errorf("%s: %d\n%s", tt.lang, status, body)
		}
	}
	b := e.browser()
	b.signIn(secret, "Eva")
	if resp, body := b.post(page+"/stop", url.Values{"csrf": {b.token(page)}, "confirm": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("stop: %d\n%s", resp.StatusCode, body)
	}
	if status, body := b.get(page); status != http.StatusOK || !strings.Contains(body, `id="decide-form"`) {
		t.Errorf("stopped: %d\n%s", status, body)
	}
}
