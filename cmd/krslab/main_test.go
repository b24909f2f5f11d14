package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func krslab(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	t.Setenv("DATABASE_URL", pgtest.URL(t))
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), err
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	// pgtest has migrated the database already: both runs must find nothing to do.
	for i := range 2 {
		out, err := krslab(t, "migrate")
		if err != nil || !strings.Contains(out, "nothing to apply") {
			t.Fatalf("run %d: %q %v", i+1, out, err)
		}
	}
	out, err := krslab(t, "migrate", "status")
	if err != nil || strings.Contains(out, "pending") || !strings.Contains(out, "00001_schema.sql") {
		t.Fatalf("status: %q %v", out, err)
	}
}

func TestAPIKeyCreatePrintsOnlyTheKey(t *testing.T) {
	out, err := krslab(t, "apikey", "create", "--role", "analyst", "--name", "cli-test")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^krs_[A-Za-z0-9_-]{43}\n$`).MatchString(out) {
		t.Fatalf("stdout = %q, want the key alone", out)
	}
	key, err := experiment.NewService(pgtest.Store(t)).Authenticate(context.Background(), strings.TrimSpace(out))
	if err != nil || key.Role != experiment.RoleAnalyst || key.Name != "cli-test" {
		t.Fatalf("created key does not authenticate: %+v %v", key, err)
	}
	if _, err := krslab(t, "apikey", "create", "--role", "boss", "--name", "x"); err == nil || !strings.Contains(err.Error(), "role") {
		t.Errorf("bad role: %v", err)
	}
	if _, err := krslab(t, "apikey", "revoke", "--name", "cli-test"); err != nil {
		t.Fatal(err)
	}
	if _, err := experiment.NewService(pgtest.Store(t)).Authenticate(context.Background(), strings.TrimSpace(out)); experiment.ErrorCode(err) != experiment.Unauthorized {
		t.Errorf("revoked key still works: %v", err)
	}
}

func TestDemoLoadsBelievableExperiments(t *testing.T) {
	out, err := krslab(t, "demo")
	if err != nil || strings.Count(out, "loaded demo experiment") != len(demoExperiments) {
		t.Fatalf("%q %v", out, err)
	}
	out, err = krslab(t, "demo")
	if err != nil || strings.Count(out, "already loaded") != len(demoExperiments) {
		t.Fatalf("second run: %q %v", out, err)
	}
	svc := experiment.NewService(pgtest.Store(t))
	list, err := svc.Experiments(context.Background(), experiment.Running)
	if err != nil || len(list) < len(demoExperiments) {
		t.Fatalf("listed %d running experiments: %v", len(list), err)
	}
	// The primary outcome of each demo moves in its treatment arm.
	wantBetter := map[string]string{demoKey: "callback", "birthday-message": "card", "channel-choice": "free-choice",
		"complaint-lasting": "callback"}
	for _, d := range demoExperiments {
		res, err := svc.Results(context.Background(), d.def.Key)
		if err != nil {
			t.Fatal(err)
		}
		// It has run for its days: it started as long ago, before its first assignment.
		if s := res.Experiment.StartedAt; s == nil || math.Abs(res.ComputedAt.Sub(*s).Hours()/24-float64(d.days)) > 0.1 {
			t.Errorf("%s started at %v, want %d days before %v", d.def.Key, s, d.days, res.ComputedAt)
		}
		for arm, n := range res.Arms {
			if n.Assigned < 500 || n.Responded < 250 {
				t.Errorf("%s arm %s: %+v", d.def.Key, arm, n)
			}
		}
		for _, o := range res.Outcomes {
			if o.Primary && o.Comparisons[wantBetter[d.def.Key]].Verdict != "better" {
				t.Errorf("%s: primary %s not better for %s: %+v", d.def.Key, o.Outcome.Key, wantBetter[d.def.Key], o.Comparisons[wantBetter[d.def.Key]])
			}
			if o.Outcome.Key == "trust" && o.Comparisons[wantBetter[d.def.Key]].CUPED == nil {
				t.Errorf("%s: the demo has trust covariates; CUPED missing", d.def.Key)
			}
		}
		if res.SRM.Mismatch {
			t.Errorf("%s has a sample ratio mismatch: %+v", d.def.Key, res.SRM)
		}
		if res.Recommendation.Action != "roll_out" {
			t.Errorf("%s: recommendation %+v", d.def.Key, res.Recommendation)
		}
	}
	checkLastingDemo(t, svc)
	// The demo customers carry attributes: the call-back works best with phone customers.
	seg, err := svc.SegmentResults(context.Background(), demoKey, "channel")
	if err != nil {
		t.Fatal(err)
	}
	if len(seg.Cells) != 4 {
		t.Errorf("%d channel cells, want 4", len(seg.Cells))
	}
	flagged := false
	for _, h := range seg.Heterogeneity {
		flagged = flagged || (h.Outcome == "krs" && h.Arm == "callback" && h.Heterogeneous)
	}
	if !flagged {
		t.Error("the call-back's KRS effect should differ by channel in the demo")
	}
}

// checkLastingDemo: the wave-based demo's customers answer after a week, a month and
// three months, every answer in its wave since the assignments precede them. Read after a
// week, the letter looks best; by three months its effect has faded and only the
// call-back's lasts, which the decision wave's recommendation says.
func checkLastingDemo(t *testing.T, svc *experiment.Service) {
	t.Helper()
	ctx := context.Background()
	const key = "complaint-lasting"
	i := slices.IndexFunc(demoExperiments, func(d demoExperiment) bool { return d.def.Key == key })
	if i < 0 {
		t.Fatalf("no demo %s", key)
	}
	d := demoExperiments[i]
	whole, err := svc.Results(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if r := whole.Recommendation; r.Action != "roll_out" || r.Arm != "callback" || !strings.HasPrefix(r.Reason, "In the decision wave, After three months") {
		t.Errorf("recommendation %+v", r)
	}
	krsDiff := map[string]map[string]float64{}
	for _, w := range d.waves {
		res, err := svc.WaveResults(ctx, key, w.wave.Key)
		if err != nil {
			t.Fatal(err)
		}
		// Every customer is eligible in every wave and answers it at the wave's rate: an
		// answer dated before its assignment would be in no wave.
		for arm, n := range res.Arms {
			if n.Assigned != whole.Arms[arm].Assigned || float64(n.Responded) < 0.85*w.response*float64(n.Assigned) {
				t.Errorf("%s %s: %+v of %d assigned, want about %.0f%% answering", w.wave.Key, arm, n, whole.Arms[arm].Assigned, 100*w.response)
			}
		}
		krsDiff[w.wave.Key] = map[string]float64{}
		for _, o := range res.Outcomes {
			if o.Primary {
				for arm, c := range o.Comparisons {
					krsDiff[w.wave.Key][arm] = c.Diff
				}
			}
		}
		if w.wave.Key == "week_1" && (res.Recommendation.Action != "roll_out" || res.Recommendation.Arm != "letter") {
			t.Errorf("after a week: %+v, want the letter rolled out", res.Recommendation)
		}
	}
	t.Logf("KRS effects per wave: %v", krsDiff)
	p, err := svc.Persistence(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	letter, callback := p.Arms["krs"]["letter"], p.Arms["krs"]["callback"]
	if letter.Durable || letter.Change == nil || letter.Change.Trend != "fading" {
		t.Errorf("the letter's KRS effect lasts: durable %v, change %+v", letter.Durable, letter.Change)
	}
	if !callback.Durable || callback.Change == nil || callback.Change.Trend == "fading" {
		t.Errorf("the call-back's KRS effect does not last: durable %v, change %+v", callback.Durable, callback.Change)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errOut); err == nil {
		t.Fatal("unknown command accepted")
	}
}

// TestSimulateCalibration is the calibration acceptance check: 2,000 A/A experiments of
// 400 customers per arm must be significant in 3.8% to 6.2% of runs at alpha 0.05, and a
// real effect must be found about as often as the power calculation promises.
func TestSimulateCalibration(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"simulate", "aa", "--runs", "2000", "--n", "400"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var rate float64
	var hits, runs int
	if _, err := fmt.Sscanf(out.String(), "false_positive_rate=%f (%d of %d)\n", &rate, &hits, &runs); err != nil || runs != 2000 {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if rate < 0.038 || rate > 0.062 {
		t.Errorf("false positive rate %.4f outside 0.038..0.062", rate)
	}
	out.Reset()
	if err := run(context.Background(), []string{"simulate", "power", "--runs", "2000", "--n", "400", "--effect", "0.3"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var observed, planned float64
	if _, err := fmt.Sscanf(out.String(), "observed_power=%f planned_power=%f", &observed, &planned); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	// 4 standard errors of a proportion near 0.8 over 2,000 runs is about 0.036.
	if math.Abs(observed-planned) > 0.036 {
		t.Errorf("observed power %.4f, planned %.4f", observed, planned)
	}
}

// TestServeRefusesABadWebhookAllowance: a mistyped allowance stops serve before it opens
// the database, from the flag or from the environment. (The context is cancelled and the
// database unreachable, so that a serve that ignored the allowance would end too.)
func TestServeRefusesABadWebhookAllowance(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	serve := func(args ...string) error {
		var out, errOut bytes.Buffer
		return run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--database-url", "postgres://127.0.0.1:1/none?connect_timeout=1"}, args...), &out, &errOut)
	}
	if err := serve("--webhook-allow", "cx.corp.example,10.0.0.0/33"); err == nil || !strings.Contains(err.Error(), "--webhook-allow") {
		t.Errorf("flag: %v", err)
	}
	t.Setenv("KRSLAB_WEBHOOK_ALLOW", "0x7f000001")
	if err := serve(); err == nil || !strings.Contains(err.Error(), "0x7f000001") {
		t.Errorf("env: %v", err)
	}
}
