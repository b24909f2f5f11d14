package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	_ "github.com/lib/pq"

	"github.com/krslab/krslab/api/report"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
	"github.com/krslab/krslab/stats/i18n"
)

// TestConsoleInBrowser walks the console as its users do, in headless Chromium against a
// real `krslab serve` over the demo data: an analyst reads the list and the call-back
// experiment in English and Dutch and may change nothing; an editor signs in with a
// one-time link, creates an experiment through the form (a mistake first), starts, stops
// and decides it, and the audit log and the assignment API follow; forms without their
// token, from another origin, or of a revoked key are refused. Every page is checked with
// axe-core (no serious or critical violation) and photographed full length at 1280 and
// 375 px, into $KRSLAB_CONSOLE_SHOTS when it is set.
//
// Without Chromium it skips, and without axe-core (npm ci --prefix .ci/browser, or
// KRSLAB_AXE=path/to/axe.min.js) it only skips the accessibility checks; with
// KRSLAB_REQUIRE_BROWSER=1 (CI) either missing fails.
func TestConsoleInBrowser(t *testing.T) {
	bin := chromiumBinary(t)
	axe := axeScript(t)
	site := startConsole(t)
	b := openBrowser(t, bin, axe, site.url)

	t.Run("analyst", func(t *testing.T) { analystWalk(t, site, b) })
	t.Run("editor", func(t *testing.T) { editorWalk(t, site, b) })
	t.Run("refusals", func(t *testing.T) { refusalsWalk(t, site, b) })
	t.Run("unanalysable", func(t *testing.T) { unanalysableWalk(t, site, b) })
	if t.Failed() {
		t.Logf("server log (last 8 kB):\n%s", site.logs.tail(8<<10))
	}
}

// The three demo experiments, and the person names the walks sign in with.
var demoKeys = []string{demoKey, "birthday-message", "channel-choice"}

const (
	analystName = "Anna Analist"
	editorName  = "Eva Editor"
	trialKey    = "callback-next-day"
)

func analystWalk(t *testing.T, site *consoleSite, b *browser) {
	tab := b.tab(t)
	// A signed-out visitor is sent to the sign-in form, which comes back to the page asked.
	loc := tab.open(t, "/experiments")
	if loc.Path != "/sign-in" || loc.Query().Get("next") != "/experiments" {
		t.Fatalf("signed out, /experiments went to %s", loc)
	}
	tab.inspect(t, "sign-in")
	tab.signIn(t, analystName, site.keys["analyst"])
	if loc := tab.location(t); loc.Path != "/experiments" {
		t.Fatalf("after sign-in: %s", loc)
	}

	// The list: every demo experiment with the recommendation its page will show.
	for _, key := range demoKeys {
		want := site.recommendation(t, key, "en").Headline
		got := evalJS[string](t, tab, fmt.Sprintf(
			`(document.querySelector('#experiments tr[data-key=%q] .action') || {}).textContent || ""`, key))
		if strings.TrimSpace(got) != want {
			t.Errorf("list: %s recommends %q, want %q", key, got, want)
		}
	}
	tab.inspect(t, "list")

	// The call-back experiment: its recommendation, and one row of the forest plot per
	// outcome and treatment arm of the results the API serves.
	tab.open(t, "/experiments/"+demoKey)
	rec := site.recommendation(t, demoKey, "en")
	if got := tab.text(t, "#recommendation .headline"); got != rec.Headline {
		t.Errorf("headline %q, want %q", got, rec.Headline)
	}
	if got := tab.text(t, "#recommendation .reason"); got != rec.Reason || got == "" {
		t.Errorf("reason %q, want %q", got, rec.Reason)
	}
	checkEffectRows(t, tab, demoKey)
	if n := evalJS[int](t, tab, `document.querySelectorAll('#act, #start-form, #stop-form, #decide-form, form[action$="/decision"]').length`); n != 0 {
		t.Errorf("an analyst is shown %d lifecycle forms", n)
	}
	checkDownloads(t, tab)
	// An analyst who forges the editors' forms, with a valid token, is refused.
	for _, action := range []string{"stop", "decision"} {
		if status := tab.post(t, "/experiments/"+demoKey+"/"+action, true, "confirm=yes&arm=callback&reason=forged"); status != http.StatusForbidden {
			t.Errorf("an analyst's POST %s answered %d, want 403", action, status)
		}
	}
	if e := site.experiment(t, demoKey); e.Status != experiment.Running {
		t.Errorf("after the analyst's forged POSTs %s is %s", demoKey, e.Status)
	}
	tab.inspect(t, "experiment")

	// Dutch, from the header's switch: labels and the reason, remembered for the session.
	tab.switchLanguage(t, "nl")
	nl := site.recommendation(t, demoKey, "nl")
	if got, want := tab.text(t, "#rec-label"), i18n.T("nl", "console.exp.recommendation"); got != want {
		t.Errorf("Dutch label %q, want %q", got, want)
	}
	if got := tab.text(t, "#effects-title"); got != i18n.T("nl", "console.exp.effects") {
		t.Errorf("Dutch effects title %q", got)
	}
	if got := tab.text(t, "#recommendation .headline"); got != nl.Headline {
		t.Errorf("Dutch headline %q, want %q", got, nl.Headline)
	}
	if got := tab.text(t, "#recommendation .reason"); got != nl.Reason || got == rec.Reason {
		t.Errorf("Dutch reason %q, want %q (English %q)", got, nl.Reason, rec.Reason)
	}
	checkEffectRows(t, tab, demoKey)
	tab.inspect(t, "experiment")
	tab.open(t, "/experiments")
	if lang := evalJS[string](t, tab, `document.documentElement.lang`); lang != "nl" {
		t.Errorf("the list after switching to Dutch has lang %q", lang)
	}
	tab.inspect(t, "list")
	tab.open(t, "/power?kind=scale&sd=1.3&mde=0.2&power=0.8")
	tab.inspect(t, "power")
	tab.switchLanguage(t, "en")

	tab.open(t, "/outcomes")
	if n := evalJS[int](t, tab, `document.querySelectorAll('#outcomes tbody tr').length`); n < 10 {
		t.Errorf("the outcomes page lists %d outcomes", n)
	}
	tab.inspect(t, "outcomes")
	tab.open(t, "/power")
	tab.inspect(t, "power")
	tab.open(t, "/power?kind=scale&sd=1.3&mde=0.2&power=0.8")
	if got := tab.text(t, "#answer"); got == "" {
		t.Error("the power planner gave no answer")
	}
	tab.inspect(t, "power-answer")
	// Pages for editors answer an analyst with the error page.
	if status := tab.status(t, "/experiments/new"); status != http.StatusForbidden {
		t.Errorf("an analyst opening /experiments/new got %d", status)
	}
	tab.inspect(t, "error")
}

func editorWalk(t *testing.T, site *consoleSite, b *browser) {
	tab := b.tab(t)
	// The one-time link asks for a name, then signs in.
	tab.open(t, site.link)
	tab.inspect(t, "sign-in-link")
	tab.fill(t, map[string]string{"#name": editorName})
	tab.submit(t, `form[action="/sign-in/link"] button[type=submit]`)
	if loc := tab.location(t); loc.Path != "/experiments" {
		t.Fatalf("after the link's sign-in: %s", loc)
	}
	// Once used, the link's page says so in another browser, in either language, and asks
	// for no name.
	used := b.tab(t)
	for _, lang := range []string{"en", "nl"} {
		if lang == "nl" {
			used.switchLanguage(t, "nl")
		}
		if status := used.status(t, site.link); status != http.StatusUnauthorized {
			t.Errorf("the used link's page (%s) answered %d", lang, status)
		}
		if msg, form := used.text(t, ".problem"), evalJS[bool](t, used, `!!document.querySelector('#name')`); msg != i18n.T(lang, "console.link.dead") || form {
			t.Errorf("the used link's page (%s): problem %q, name field %v", lang, msg, form)
		}
		used.inspect(t, "sign-in-link-used")
	}

	tab.open(t, "/experiments/new")
	tab.inspect(t, "new-experiment")
	trial := map[string]string{
		"#key":          trialKey,
		"#name":         "Complaint call-back: same day vs next day",
		"#hypothesis":   "A call the next working day restores trust as well as one the same day.",
		"#arm-key-1":    "next-day",
		"#arm-name-1":   "Call-back next day",
		"#arm-weight-1": "abc",
	}
	tab.fill(t, trial)
	// A weight that is not a number: refused beside its field, with what was typed kept.
	if status := tab.submit(t, `#new-experiment button[name=action][value=create]`); status != http.StatusUnprocessableEntity {
		t.Errorf("a weight of abc answered %d", status)
	}
	beside := evalJS[map[string]string](t, tab, `(() => {
		const input = document.querySelector('#arm-weight-1');
		const err = input && input.closest('.field').querySelector('.field-error');
		return {invalid: input ? String(input.getAttribute('aria-invalid')) : '', error: err ? err.textContent : '',
			describedby: input ? String(input.getAttribute('aria-describedby')) : '', errorId: err ? err.id : '',
			key: document.querySelector('#key').value}
	})()`)
	if beside["invalid"] != "true" || beside["error"] == "" || !strings.Contains(beside["describedby"], beside["errorId"]) {
		t.Errorf("the weight's error is not beside it: %v", beside)
	}
	if beside["key"] != trialKey {
		t.Errorf("the refused form lost the key: %v", beside)
	}
	if status, _ := site.api(t, "GET", "/v1/experiments/"+trialKey, "admin", nil); status != http.StatusNotFound {
		t.Errorf("a refused form stored the experiment: GET answered %d", status)
	}
	tab.inspect(t, "new-experiment-invalid")

	// The same refusal in Dutch: what is wrong is said in the reader's language.
	tab.switchLanguage(t, "nl")
	tab.fill(t, trial)
	if status := tab.submit(t, `#new-experiment button[name=action][value=create]`); status != http.StatusUnprocessableEntity {
		t.Errorf("a weight of abc answered %d in Dutch", status)
	}
	if got, want := tab.text(t, "#arm-weight-1-error"), i18n.Problem("nl", "must be a number"); got != want || got == beside["error"] {
		t.Errorf("the weight's error in Dutch is %q, want %q (English %q)", got, want, beside["error"])
	}
	tab.inspect(t, "new-experiment-invalid")
	tab.switchLanguage(t, "en")
	tab.fill(t, trial)

	tab.fill(t, map[string]string{"#arm-weight-1": "1"})
	tab.submit(t, `#new-experiment button[name=action][value=create]`)
	if loc := tab.location(t); loc.Path != "/experiments/"+trialKey {
		t.Fatalf("after creating: %s (errors: %s)", loc, tab.text(t, "main"))
	}
	if e := site.experiment(t, trialKey); e.Status != experiment.Draft || len(e.Arms) != 2 {
		t.Fatalf("created %+v", e)
	}
	tab.inspect(t, "experiment-draft")

	// Starting needs the box ticked; the server checks it.
	if status := tab.submit(t, `#start-form button[type=submit]`); status != http.StatusUnprocessableEntity {
		t.Errorf("an unconfirmed start answered %d", status)
	}
	if got := tab.text(t, "#confirm-start-error"); got == "" {
		t.Error("an unconfirmed start shows no error beside its box")
	}
	tab.click(t, "#confirm-start")
	tab.submit(t, `#start-form button[type=submit]`)
	if e := site.experiment(t, trialKey); e.Status != experiment.Running {
		t.Fatalf("after start: %s", e.Status)
	}
	tab.inspect(t, "experiment-running")
	tab.click(t, "#confirm-stop")
	tab.submit(t, `#stop-form button[type=submit]`)
	if e := site.experiment(t, trialKey); e.Status != experiment.Stopped {
		t.Fatalf("after stop: %s", e.Status)
	}
	tab.inspect(t, "experiment-stopped")

	const reason = "The next-day call restores trust as well and fits the teams' rosters."
	tab.fill(t, map[string]string{"#arm": "next-day", "#reason": reason})
	tab.click(t, "#confirm-decide")
	tab.submit(t, `#decide-form button[type=submit]`)
	e := site.experiment(t, trialKey)
	if e.Status != experiment.Decided || e.Decision == nil || e.Decision.Arm != "next-day" {
		t.Fatalf("after deciding: %s %+v", e.Status, e.Decision)
	}
	decision := tab.text(t, "#decision")
	for _, want := range []string{editorName, "console-editor", reason, i18n.Date(e.Decision.DecidedAt, "en"), "Call-back next day"} {
		if !strings.Contains(decision, want) {
			t.Errorf("the decision does not say %q: %q", want, decision)
		}
	}
	tab.inspect(t, "experiment-decided")

	// The audit log names the person and the key of every change.
	_, body := site.api(t, "GET", "/v1/audit?limit=200", "admin", nil)
	var audit struct {
		Audit []struct{ Actor, Action, Subject string } `json:"audit"`
	}
	if err := json.Unmarshal(body, &audit); err != nil {
		t.Fatalf("audit: %v: %s", err, body)
	}
	seen := map[string]string{}
	for _, a := range audit.Audit {
		if a.Subject == trialKey {
			seen[a.Action] = a.Actor
		}
	}
	for _, action := range []string{"experiment.create", "experiment.start", "experiment.stop", "experiment.decide"} {
		if want := editorName + " (console-editor)"; seen[action] != want {
			t.Errorf("audit %s by %q, want %q (all: %v)", action, seen[action], want, seen)
		}
	}

	// The roll-out: every customer asked now gets the decided arm.
	status, body := site.api(t, "POST", "/v1/experiments/"+trialKey+"/assignments", "ingest", map[string]any{"customer_id": "cust-after-decision"})
	var assigned struct {
		Arm     *string `json:"arm"`
		Decided bool    `json:"decided"`
	}
	_ = json.Unmarshal(body, &assigned)
	if status != http.StatusOK || assigned.Arm == nil || *assigned.Arm != "next-day" || !assigned.Decided {
		t.Errorf("assignment after the decision: %d %s", status, body)
	}

	tab.open(t, "/outcomes/new")
	tab.inspect(t, "new-outcome")
	tab.open(t, "/experiments/new")
	tab.switchLanguage(t, "nl")
	tab.inspect(t, "new-experiment")
	tab.open(t, "/outcomes/new")
	tab.inspect(t, "new-outcome")
	tab.open(t, "/experiments/"+trialKey)
	tab.inspect(t, "experiment-decided")
}

func refusalsWalk(t *testing.T, site *consoleSite, b *browser) {
	ctx := experiment.WithActor(context.Background(), "test")
	// A draft to start: a refused start leaves it a draft, an accepted one starts it.
	draft := experiment.Experiment{Key: "console-csrf", Name: "Refused forms", PrimaryOutcome: "trust",
		Arms: []experiment.Arm{{Key: "control", Weight: 1, Control: true}, {Key: "letter", Weight: 1}}}
	if _, err := site.svc.CreateExperiment(ctx, draft); err != nil {
		t.Fatal(err)
	}
	tab := b.tab(t)
	tab.open(t, "/sign-in")
	tab.signIn(t, "Evert Editor", site.keys["editor"])
	tab.open(t, "/experiments/"+draft.Key)
	start := "/experiments/" + draft.Key + "/start"
	if status := tab.post(t, start, false, "confirm=yes"); status != http.StatusForbidden {
		t.Errorf("a POST without its token answered %d", status)
	}
	if status := tab.post(t, start, false, "confirm=yes&csrf=not-the-token"); status != http.StatusForbidden {
		t.Errorf("a POST with a wrong token answered %d", status)
	}
	// The page's own token, from another site (a Go client holding the browser's cookie).
	token := evalJS[string](t, tab, `document.querySelector('#start-form input[name=csrf]').value`)
	form := url.Values{"csrf": {token}, "confirm": {"yes"}}
	req, _ := http.NewRequest("POST", site.url+start, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://intruder.example")
	req.AddCookie(tab.cookie(t, "krslab_session"))
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a POST from another origin answered %d", resp.StatusCode)
	}
	if e := site.experiment(t, draft.Key); e.Status != experiment.Draft {
		t.Fatalf("refused POSTs started the experiment: %s", e.Status)
	}
	// The refusal is a page a person can read.
	if status := tab.formWithout(t, "#start-form", "csrf"); status != http.StatusForbidden {
		t.Errorf("the start form without its token answered %d", status)
	}
	tab.inspect(t, "error-csrf")
	// The same request with its token goes through: the refusals were the token's.
	tab.open(t, "/experiments/"+draft.Key)
	if status := tab.post(t, start, true, "confirm=yes"); status != http.StatusOK {
		t.Errorf("a POST with its token answered %d", status)
	}
	if e := site.experiment(t, draft.Key); e.Status != experiment.Running {
		t.Errorf("the accepted start left %s", e.Status)
	}

	// A revoked key's session ends within the key ring's refresh (5 s).
	gone := b.tab(t)
	gone.open(t, "/sign-in")
	gone.signIn(t, "Lena Leaver", site.keys["leaver"])
	if loc := gone.open(t, "/experiments"); loc.Path != "/experiments" {
		t.Fatalf("the leaver's session did not start: %s", loc)
	}
	if err := site.svc.RevokeAPIKey(ctx, "console-leaver"); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for {
		if loc := gone.open(t, "/experiments"); loc.Path == "/sign-in" {
			t.Logf("the revoked key's session ended after %v", time.Since(revoked).Round(100*time.Millisecond))
			break
		}
		if time.Since(revoked) > 7*time.Second {
			t.Fatal("a revoked key's session still works after 7 s")
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// unanalysableWalk: an experiment whose results the database cannot compute (a number of
// 1e200, stored before the rule that refuses it) shows why, in both languages, and can
// still be stopped from its page.
func unanalysableWalk(t *testing.T, site *consoleSite, b *browser) {
	ctx := experiment.WithActor(context.Background(), "test")
	if _, err := site.svc.CreateOutcome(ctx, experiment.Outcome{Key: "spend_next_90d", Kind: experiment.Numeric,
		Label: "Spend in the next 90 days", LabelNL: "Besteding in de komende 90 dagen", HigherIsBetter: true}); err != nil {
		t.Fatal(err)
	}
	x := experiment.Experiment{Key: "spend-after-call", Name: "Spend after a call-back", Outcomes: []string{"spend_next_90d"},
		PrimaryOutcome: "spend_next_90d", Arms: []experiment.Arm{{Key: "control", Weight: 1, Control: true}, {Key: "call", Weight: 1}}}
	if _, err := site.svc.CreateExperiment(ctx, x); err != nil {
		t.Fatal(err)
	}
	if _, err := site.svc.Start(ctx, x.Key); err != nil {
		t.Fatal(err)
	}
	var ids []string
	var rs []experiment.Response
	for i := range 30 {
		id := fmt.Sprintf("spender-%02d", i)
		ids = append(ids, id)
		rs = append(rs, experiment.Response{ResponseID: "r-" + id, CustomerID: id, AnsweredAt: time.Now().Add(-time.Hour),
			Answers: map[string]float64{"spend_next_90d": float64(40 + 7*i)}})
	}
	if _, err := site.svc.AssignBatch(ctx, x.Key, ids); err != nil {
		t.Fatal(err)
	}
	if _, err := site.svc.RecordResponses(ctx, x.Key, rs, true); err != nil {
		t.Fatal(err)
	}
	if _, err := site.store.DB().Exec(`UPDATE responses SET answer_values = '{1e200}' WHERE response_id = 'r-spender-07'`); err != nil {
		t.Fatal(err)
	}
	tab := b.tab(t)
	tab.open(t, "/sign-in")
	tab.signIn(t, "Evi Editor", site.keys["editor"])
	page := "/experiments/" + x.Key
	tab.open(t, page)
	for _, lang := range []string{"en", "nl"} {
		if lang == "nl" {
			tab.switchLanguage(t, "nl")
		}
		want := i18n.Problem(lang, "this experiment holds numbers too large or too small to compute with; the analysis takes 0 and 1e-100 to 1e100 in absolute value")
		if got := tab.text(t, "#recommendation .reason"); got != want {
			t.Errorf("%s: the page says %q, want %q", lang, got, want)
		}
		tab.inspect(t, "experiment-unanalysable")
	}
	tab.switchLanguage(t, "en")
	tab.click(t, "#confirm-stop")
	if status := tab.submit(t, `#stop-form button[type=submit]`); status != http.StatusOK {
		t.Errorf("stopping answered %d", status)
	}
	if e := site.experiment(t, x.Key); e.Status != experiment.Stopped {
		t.Fatalf("after stopping: %s", e.Status)
	}
	// Without an analysis the product owner can still decide, on what they know.
	tab.fill(t, map[string]string{"#arm": "control", "#reason": "Keep control until the odd spend figure is corrected."})
	tab.click(t, "#confirm-decide")
	if status := tab.submit(t, `#decide-form button[type=submit]`); status != http.StatusOK {
		t.Errorf("deciding answered %d", status)
	}
	if e := site.experiment(t, x.Key); e.Status != experiment.Decided || e.Decision == nil || e.Decision.Arm != "control" {
		t.Errorf("after deciding: %s %+v", e.Status, e.Decision)
	}
}

// checkEffectRows counts the forest plot's rows, by their labels ('Trust · Personal
// call-back'), against the outcomes and treatment arms of the results the API serves
// to the same session: every outcome has a row for every treatment arm, and an outcome
// in two of the report's groups (trust: a KRS component and a building block) one in each.
func checkEffectRows(t *testing.T, tab *tab, key string) {
	t.Helper()
	got := evalJS[map[string]any](t, tab, fmt.Sprintf(`(async () => {
		const get = async (p) => { const r = await fetch(p); if (!r.ok) throw new Error(p + ': ' + r.status); return r.json() };
		const e = await get('/v1/experiments/%[1]s'), res = await get('/v1/experiments/%[1]s/results');
		const lang = document.documentElement.lang;
		const labels = [...document.querySelectorAll('#effects svg text')].map(t => t.textContent);
		const arms = {};
		for (const a of e.arms.filter(a => !a.control)) {
			const rows = labels.filter(l => l.endsWith(' · ' + a.name));
			arms[a.key] = {rows: rows.length, plotted: new Set(rows).size,
				outcomes: res.outcomes.filter(o => o.comparisons && o.comparisons[a.key]).length};
		}
		return {arms, svgs: document.querySelectorAll('#effects svg').length, lang,
			labels: labels.filter(l => l.includes(' · ')).join(' | '), outcomes: res.outcomes.map(o => o.key).join(' ')};
	})()`, key))
	arms, _ := got["arms"].(map[string]any)
	if len(arms) == 0 || got["svgs"] != float64(1) {
		t.Fatalf("effects: %v", got)
	}
	for arm, v := range arms {
		c := v.(map[string]any)
		if c["plotted"] != c["outcomes"] || c["outcomes"] == float64(0) || c["rows"].(float64) < c["plotted"].(float64) {
			t.Errorf("effects (%v): arm %s has %v rows for %v outcomes (%v): %v", got["lang"], arm, c["plotted"], c["outcomes"], got["outcomes"], got["labels"])
		}
	}
}

// checkDownloads opens every download link of the page with the session alone.
func checkDownloads(t *testing.T, tab *tab) {
	t.Helper()
	got := evalJS[map[string]int](t, tab, `(async () => {
		const out = {};
		for (const a of document.querySelectorAll('#downloads a')) {
			const r = await fetch(a.getAttribute('href'));
			out[a.getAttribute('href')] = r.status;
		}
		return out;
	})()`)
	if len(got) < 5 {
		t.Errorf("%d downloads: %v", len(got), got)
	}
	for href, status := range got {
		if !strings.HasPrefix(href, "/v1/") || status != http.StatusOK {
			t.Errorf("download %s answered %d", href, status)
		}
	}
}

// consoleSite is `krslab serve` on a loopback port over a database of its own, loaded with
// the demo, and the keys the walks use.
type consoleSite struct {
	url   string
	svc   *experiment.Service // another process's view of the same database, as the CLI is
	store *postgres.Store     // the same, for what only a writer past the service can store
	logs  *lockedBuffer
	keys  map[string]string // role (or "leaver", an analyst's to revoke) -> secret
	link  string            // the editor's one-time sign-in link
}

// startConsole migrates and loads a fresh database and serves it. The database is its own,
// not the package's: the demo test expects to load the demo into an empty one.
func startConsole(t *testing.T) *consoleSite {
	t.Helper()
	dbURL := freshDatabase(t)
	ctx := context.Background()
	var out bytes.Buffer
	for _, args := range [][]string{{"migrate"}, {"demo"}} {
		if err := run(ctx, append(args, "--database-url", dbURL), &out, &out); err != nil {
			t.Fatalf("krslab %s: %v\n%s", args[0], err, out.String())
		}
	}
	store, err := postgres.Open(ctx, dbURL, postgres.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := experiment.NewService(store)
	t.Cleanup(svc.Close)
	// The list shows the headlines analyses leave; leave them before the first look.
	if _, err := svc.RefreshHeadlines(ctx, nil); err != nil {
		t.Fatal(err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	site := &consoleSite{url: "http://" + addr, svc: svc, store: store, logs: &lockedBuffer{}, keys: map[string]string{}}
	// The leaver's key is made with the others: a key ring that reloaded less than a second
	// ago does not look for a key it has not seen yet (KeyRing.MinGap).
	for _, name := range []string{"analyst", "editor", "ingest", "admin", "leaver"} {
		role := name
		if name == "leaver" {
			role = "analyst"
		}
		args := []string{"apikey", "create", "--role", role, "--name", "console-" + name, "--database-url", dbURL}
		if name == "editor" {
			args = append(args, "--link", "--url", site.url)
		}
		out.Reset()
		if err := run(ctx, args, &out, &out); err != nil {
			t.Fatalf("krslab apikey create --name console-%s: %v\n%s", name, err, out.String())
		}
		lines := strings.Fields(out.String())
		site.keys[name] = lines[0]
		if name == "editor" {
			if len(lines) != 2 || !strings.HasPrefix(lines[1], site.url+"/sign-in/link?token=krsl_") {
				t.Fatalf("apikey create --link printed %q", out.String())
			}
			site.link = lines[1]
		}
	}

	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- runServe(sctx, []string{"--addr", addr, "--database-url", dbURL, "--log-format", "text",
			"--shutdown-timeout", "5s", "--db-max-conns", "8"}, site.logs, site.logs)
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, site.logs.tail(4<<10))
		default:
		}
		if resp, err := http.Get(site.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return site
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready:\n%s", site.logs.tail(4<<10))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freshDatabase creates an empty database beside the package's, on the same server, and
// drops it when the test ends; `krslab migrate` gives it the schema.
func freshDatabase(t *testing.T) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	u, drop, err := postgres.CreateDatabase(context.Background(), pgtest.URL(t), "krslab_test_console_"+hex.EncodeToString(b[:]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return u
}

// recommendation is what the experiment's page should say, from the same analysis.
func (s *consoleSite) recommendation(t *testing.T, key, lang string) report.RecommendationView {
	t.Helper()
	res, err := s.svc.Results(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return report.Recommendation(res, lang)
}

func (s *consoleSite) experiment(t *testing.T, key string) experiment.Experiment {
	t.Helper()
	e, err := s.svc.Experiment(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// api calls the JSON API with the key of a role.
func (s *consoleSite) api(t *testing.T, method, path, role string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, r)
	req.Header.Set("Authorization", "Bearer "+s.keys[role])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// browser is one headless Chromium for the whole test; each person gets a tab in a browser
// context of its own (cookies apart).
type browser struct {
	base  string // the console's address
	root  context.Context
	axe   string // axe.min.js, "" to skip the accessibility checks
	shots string
	mu    sync.Mutex
	seq   int
}

func chromiumBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("KRSLAB_REQUIRE_BROWSER") == "1" {
		t.Fatal("KRSLAB_REQUIRE_BROWSER=1 but no chromium on PATH")
	}
	t.Skip("no chromium on PATH (set KRSLAB_REQUIRE_BROWSER=1 to require it)")
	return ""
}

// axeScript reads axe-core from $KRSLAB_AXE or from .ci/browser's npm install.
func axeScript(t *testing.T) string {
	t.Helper()
	path := os.Getenv("KRSLAB_AXE")
	if path == "" {
		path = filepath.Join("..", "..", ".ci", "browser", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("KRSLAB_REQUIRE_BROWSER") == "1" {
			t.Fatalf("KRSLAB_REQUIRE_BROWSER=1 but axe-core is missing (npm ci --prefix .ci/browser, or set KRSLAB_AXE): %v", err)
		}
		t.Logf("no axe-core (%v): the accessibility checks are skipped; run npm ci --prefix .ci/browser", err)
		return ""
	}
	return string(b)
}

func openBrowser(t *testing.T, bin, axe, base string) *browser {
	t.Helper()
	shots := os.Getenv("KRSLAB_CONSOLE_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true), chromedp.Flag("force-color-profile", "srgb"),
		chromedp.WindowSize(1280, 900))
	root, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Logf("screenshots in %s", shots)
	return &browser{base: base, root: root, axe: axe, shots: shots}
}

// tab is one person's tab.
type tab struct {
	b   *browser
	ctx context.Context
}

func (b *browser) tab(t *testing.T) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	return &tab{b: b, ctx: ctx}
}

// within runs one step with a deadline, leaving the tab open when it passes.
func (tb *tab) within(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.ctx, d)
}

// open loads a page (a path on the site, or a full URL) and returns where it ended up.
func (tb *tab) open(t *testing.T, target string) *url.URL {
	t.Helper()
	tb.status(t, target)
	return tb.location(t)
}

// status loads a page and returns the status of the document it ended on.
func (tb *tab) status(t *testing.T, target string) int {
	t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = tb.b.base + target
	}
	ctx, cancel := tb.within(30 * time.Second)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(target))
	if err != nil {
		t.Fatalf("open %s: %v", target, err)
	}
	return int(resp.Status)
}

func (tb *tab) location(t *testing.T) *url.URL {
	t.Helper()
	ctx, cancel := tb.within(10 * time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// text is the text of the first element matching sel, its white space collapsed, "" when there is none.
func (tb *tab) text(t *testing.T, sel string) string {
	t.Helper()
	return evalJS[string](t, tb, fmt.Sprintf(`((document.querySelector(%q) || {}).textContent || "").replace(/\s+/g, " ").trim()`, sel))
}

// fill sets the values of inputs, selects and text areas by selector.
func (tb *tab) fill(t *testing.T, values map[string]string) {
	t.Helper()
	ctx, cancel := tb.within(20 * time.Second)
	defer cancel()
	for sel, v := range values {
		if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(sel), v)); err != nil {
			t.Fatalf("fill %s: %v", sel, err)
		}
	}
}

func (tb *tab) click(t *testing.T, sel string) {
	t.Helper()
	ctx, cancel := tb.within(20 * time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// submit clicks a form's button and waits for the page it leads to; it returns its status.
func (tb *tab) submit(t *testing.T, sel string) int {
	t.Helper()
	ctx, cancel := tb.within(30 * time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("submit %s: %v", sel, err)
	}
	return int(resp.Status)
}

func (tb *tab) signIn(t *testing.T, name, key string) {
	t.Helper()
	tb.fill(t, map[string]string{"#name": name, "#key": key})
	if status := tb.submit(t, `form[action="/sign-in"] button[type=submit]`); status != http.StatusOK {
		t.Fatalf("sign-in as %s answered %d: %s", name, status, tb.text(t, "main"))
	}
}

// switchLanguage presses the header's language button and checks the page came back in lang.
func (tb *tab) switchLanguage(t *testing.T, lang string) {
	t.Helper()
	before := tb.location(t)
	tb.submit(t, `form[action="/language"] button[type=submit]`)
	after := tb.location(t)
	if got := evalJS[string](t, tb, `document.documentElement.lang`); got != lang || after.Path != before.Path {
		t.Fatalf("the language switch on %s led to %s in %q, want %q", before.Path, after, got, lang)
	}
}

// post sends a form from the page with fetch, as a script of the page could: with the
// session cookie and the page's Origin, and with the page's own token when withToken.
// It returns the status of where the answer ends (redirects followed).
func (tb *tab) post(t *testing.T, path string, withToken bool, body string) int {
	t.Helper()
	return evalJS[int](t, tb, fmt.Sprintf(`(async () => {
		const body = new URLSearchParams(%q);
		const csrf = document.querySelector('input[name=csrf]');
		if (%t) body.set('csrf', csrf ? csrf.value : '');
		const r = await fetch(%q, {method: 'POST', body});
		return r.status;
	})()`, body, withToken, path))
}

// formWithout submits the page's form with one of its fields removed.
func (tb *tab) formWithout(t *testing.T, form, field string) int {
	t.Helper()
	evalJS[bool](t, tb, fmt.Sprintf(`(() => {
		document.querySelector(%[1]q + ' [name=%[2]s]').remove();
		const box = document.querySelector(%[1]q + ' input[name=confirm]');
		if (box) box.checked = true;
		return true;
	})()`, form, field))
	return tb.submit(t, form+` button[type=submit]`)
}

// cookie is one of the tab's cookies for the site, HttpOnly ones too.
func (tb *tab) cookie(t *testing.T, name string) *http.Cookie {
	t.Helper()
	ctx, cancel := tb.within(10 * time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{tb.b.base}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatalf("no cookie %s", name)
	return nil
}

// evalJS evaluates a script in the tab (awaiting a promise) and decodes its value.
func evalJS[T any](t *testing.T, tb *tab, js string) T {
	t.Helper()
	ctx, cancel := tb.within(60 * time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		first, _, _ := strings.Cut(strings.TrimSpace(js), "\n")
		t.Fatalf("evaluate %s…: %v", first, err)
	}
	return v
}

// inspect checks the page as it is: axe-core finds no serious or critical violation, and
// screenshots of the whole page at 1280 and 375 px wide are written, the phone's without
// sideways scrolling.
func (tb *tab) inspect(t *testing.T, name string) {
	t.Helper()
	lang := evalJS[string](t, tb, `document.documentElement.lang`)
	label := name + "-" + lang
	tb.axe(t, label)
	for _, width := range []int64{1280, 375} {
		tb.screenshot(t, label, width)
	}
}

type axeViolation struct {
	ID, Impact, Help string
	Targets          []string
}

func (tb *tab) axe(t *testing.T, label string) {
	t.Helper()
	if tb.b.axe == "" {
		return
	}
	if !evalJS[bool](t, tb, `typeof window.axe === "object"`) {
		evalJS[bool](t, tb, tb.b.axe+"\n;true")
	}
	got := evalJS[struct {
		Violations []axeViolation
		Passed     int
	}](t, tb, `axe.run(document, {resultTypes: ['violations']}).then(r => ({
		Passed: r.passes.length,
		Violations: r.violations.map(v => ({ID: v.id, Impact: v.impact || '', Help: v.help,
			Targets: v.nodes.map(n => n.target.join(' > '))}))}))`)
	if got.Passed == 0 {
		t.Errorf("axe %s checked nothing", label)
	}
	t.Logf("axe %s: %d rules passed, %d violated", label, got.Passed, len(got.Violations))
	for _, v := range got.Violations {
		msg := fmt.Sprintf("axe %s: %s (%s): %s; at %s", label, v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "))
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(msg)
		} else {
			t.Log(msg)
		}
	}
}

// screenshot writes the whole page at width px and checks that, on a phone, nothing but
// the figures and tables made to scroll does.
func (tb *tab) screenshot(t *testing.T, label string, width int64) {
	t.Helper()
	ctx, cancel := tb.within(60 * time.Second)
	defer cancel()
	var opts []chromedp.EmulateViewportOption
	if width < 700 {
		opts = append(opts, chromedp.EmulateMobile)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900, opts...)); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Error(err)
		}
	}()
	if width < 700 {
		wide := evalJS[[]string](t, tb, `(() => {
			const w = document.documentElement.clientWidth, out = [];
			if (document.documentElement.scrollWidth <= w) return out;
			for (const el of document.querySelectorAll('body *')) {
				const r = el.getBoundingClientRect();
				if (r.right <= w + 1 || el.closest('.scroll, figure.svg')) continue;
				if (el.parentElement && el.parentElement.getBoundingClientRect().right > w + 1) continue;
				out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') + ' ' + Math.round(r.right) + 'px');
			}
			return out.slice(0, 8);
		})()`)
		if len(wide) > 0 {
			t.Errorf("%s at %d px scrolls sideways: %s", label, width, strings.Join(wide, ", "))
		}
	}
	shot, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
		m, err := cdp.Call(ctx, tg, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, err
		}
		h := min(m.CSSContentSize.Height, 16000)
		r, err := cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng, CaptureBeyondViewport: new(true),
			Clip: &page.Viewport{Width: float64(width), Height: h, Scale: 1}})
		return r.Data, err
	})
	if err != nil {
		t.Fatalf("screenshot %s: %v", label, err)
	}
	img, err := png.DecodeConfig(bytes.NewReader(shot))
	if err != nil || int64(img.Width) != width {
		t.Errorf("screenshot %s at %d px: %v %+v", label, width, err, img)
	}
	tb.b.mu.Lock()
	tb.b.seq++
	file := filepath.Join(tb.b.shots, fmt.Sprintf("%02d-%s-%d.png", tb.b.seq, label, width))
	tb.b.mu.Unlock()
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer keeps the server's log for a failing test's report.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}
