package postgres_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
	"github.com/krslab/krslab/experiment/webhook"
)

const testSecret = "0123456789abcdef-secret"

// loopbackWebhooks allows the httptest receivers of these tests on 127.0.0.1, which the
// default policy refuses; the service and the workers are given it alike.
var loopbackWebhooks = func() experiment.WebhookPolicy {
	p, err := experiment.ParseWebhookAllow("127.0.0.0/8")
	if err != nil {
		panic(err)
	}
	return p
}()

func setRules(t *testing.T, f importFixture, url string, rules ...experiment.AlertRule) experiment.AlertRules {
	t.Helper()
	in := experiment.AlertRules{Rules: rules}
	if url != "" {
		in.Webhook = &experiment.Webhook{URL: url, Secret: testSecret}
	}
	f.svc.Webhooks = loopbackWebhooks
	_, stored, err := f.svc.SetAlertRules(context.Background(), f.e.Key, in)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func quietWorker(t *testing.T, opt webhook.Options) *webhook.Worker {
	opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opt.Policy = loopbackWebhooks
	return webhook.NewWorker(pgtest.Store(t), opt)
}

// TestAlertsFromBulkImport: the trigger raises alerts for every way answers are written,
// krslab import included, once per response and rule, and only while a rule exists.
func TestAlertsFromBulkImport(t *testing.T) {
	f := newImportFixture(t, "alerts-import")
	ctx := context.Background()
	f.assign(t, "c1", "c2", "c3", "c4")
	// Before any rule: nothing.
	if _, err := f.im.ImportResponses(ctx, f.e.Key, text(responsesHeader+"r0,c1,2026-03-01T09:00:00Z,1,1,1,0\n"), experiment.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	setRules(t, f, "https://cx.example.com/hook",
		experiment.AlertRule{Outcome: "nps", Op: "<=", Value: 6},
		experiment.AlertRule{Outcome: "trust", Op: "<", Value: 3},
		experiment.AlertRule{Outcome: "love", Op: "==", Value: 7})
	file := responsesHeader +
		"r1,c1,2026-03-01T10:00:00Z,1,5,5,9\n" + // trust
		"r2,c2,2026-03-01T10:00:00Z,3,,,6\n" + // nps
		"r3,c3,2026-03-01T10:00:00Z,2,5,7,2\n" + // trust, love, nps
		"r4,c4,2026-03-01T10:00:00Z,3,6,6,7\n" // none
	for range 2 { // the second import is all replays
		if _, err := f.im.ImportResponses(ctx, f.e.Key, text(file), experiment.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM alerts WHERE experiment_id = $1`); n != 5 {
		t.Errorf("%d alerts, want 5", n)
	}
	if n := f.count(t, `SELECT count(*) FROM webhook_deliveries WHERE experiment_id = $1 AND status = 'pending'`); n != 5 {
		t.Errorf("%d pending deliveries, want 5", n)
	}
	list, err := f.svc.Alerts(ctx, f.e.Key, experiment.AlertOpen, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, a := range list {
		got[a.ResponseID+" "+a.Rule().String()] = true
	}
	for _, want := range []string{"r1 trust < 3", "r2 nps <= 6", "r3 trust < 3", "r3 love == 7", "r3 nps <= 6"} {
		if !got[want] {
			t.Errorf("no alert %q in %v", want, got)
		}
	}
	// A batch refused as a whole raises nothing.
	_, err = f.svc.RecordResponses(ctx, f.e.Key, []experiment.Response{
		{ResponseID: "x1", CustomerID: "c1", AnsweredAt: mustTime(t, "2026-03-02T10:00:00Z"), Answers: map[string]float64{"nps": 0}},
		{ResponseID: "x2", CustomerID: "stranger", AnsweredAt: mustTime(t, "2026-03-02T10:00:00Z"), Answers: map[string]float64{"nps": 0}},
	}, true)
	if experiment.ErrorCode(err) != experiment.Invalid {
		t.Fatalf("batch with an unassigned customer: %v", err)
	}
	if n := f.count(t, `SELECT count(*) FROM alerts WHERE experiment_id = $1`); n != 5 {
		t.Errorf("%d alerts after a refused batch, want 5", n)
	}
}

// TestAlertRulesKeepTheirIDs: rules given again keep their ids and order; removed rules go;
// alerts keep the rule they were raised by.
func TestAlertRulesKeepTheirIDs(t *testing.T) {
	f := newImportFixture(t, "alerts-rule-ids")
	nps := experiment.AlertRule{Outcome: "nps", Op: "<=", Value: 6}
	trust := experiment.AlertRule{Outcome: "trust", Op: "<=", Value: 2}
	ces := experiment.AlertRule{Outcome: "ces", Op: "<=", Value: 3}
	first := setRules(t, f, "", nps, trust)
	second := setRules(t, f, "https://cx.example.com/a", ces, trust)
	if len(second.Rules) != 2 || second.Rules[0].Outcome != "ces" || second.Rules[1].ID != first.Rules[1].ID ||
		second.Rules[0].ID == first.Rules[0].ID || second.Webhook == nil || second.Webhook.Secret != testSecret {
		t.Fatalf("first %+v, second %+v", first, second)
	}
	// A webhook given without a secret keeps the stored one.
	_, third, err := f.svc.SetAlertRules(context.Background(), f.e.Key, experiment.AlertRules{Rules: []experiment.AlertRule{trust},
		Webhook: &experiment.Webhook{URL: "https://cx.example.com/b"}})
	if err != nil || third.Webhook.Secret != testSecret || third.Webhook.URL != "https://cx.example.com/b" || len(third.Rules) != 1 {
		t.Fatalf("third %+v %v", third, err)
	}
	if n := f.count(t, `SELECT count(*) FROM alert_rules WHERE experiment_id = $1`); n != 1 {
		t.Errorf("%d rules stored, want 1", n)
	}
}

type countingReceiver struct {
	mu     sync.Mutex
	byID   map[string]int
	status int
	badSig int
}

func (c *countingReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.byID[r.Header.Get("X-Krslab-Delivery")]++
	if !webhook.Verify(testSecret, body, r.Header.Get("X-Krslab-Signature")) {
		c.badSig++
	}
	status := c.status
	c.mu.Unlock()
	w.WriteHeader(status)
}

func newCountingReceiver(t *testing.T, status int) (*countingReceiver, string) {
	c := &countingReceiver{byID: map[string]int{}, status: status}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func raise(t *testing.T, f importFixture, n int) {
	t.Helper()
	ids := make([]string, n)
	rs := make([]experiment.Response, n)
	for i := range n {
		ids[i] = fmt.Sprintf("c%03d", i)
		rs[i] = experiment.Response{ResponseID: "r" + ids[i], CustomerID: ids[i], AnsweredAt: mustTime(t, "2026-03-01T10:00:00Z"),
			Answers: map[string]float64{"nps": 1}}
	}
	f.assign(t, ids...)
	if _, err := f.svc.RecordResponses(context.Background(), f.e.Key, rs, true); err != nil {
		t.Fatal(err)
	}
}

// TestWebhookWorkersDeliverEachAlertOnce: several workers on one database post every
// delivery exactly once.
func TestWebhookWorkersDeliverEachAlertOnce(t *testing.T) {
	f := newImportFixture(t, "alerts-workers")
	rcv, url := newCountingReceiver(t, http.StatusOK)
	setRules(t, f, url, experiment.AlertRule{Outcome: "nps", Op: "<=", Value: 6})
	raise(t, f, 60)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 3 {
		w := quietWorker(t, webhook.Options{Poll: 10 * time.Millisecond, Batch: 4})
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(ctx) }()
	}
	deadline := time.Now().Add(20 * time.Second)
	for f.count(t, `SELECT count(*) FROM webhook_deliveries WHERE experiment_id = $1 AND status <> 'delivered'`) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.byID) != 60 || rcv.badSig != 0 {
		t.Fatalf("%d deliveries received, %d badly signed", len(rcv.byID), rcv.badSig)
	}
	for id, n := range rcv.byID {
		if n != 1 {
			t.Errorf("delivery %s posted %d times", id, n)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM webhook_attempts WHERE experiment_id = $1`); n != 60 {
		t.Errorf("%d attempts logged, want 60", n)
	}
}

// TestWebhookRetriesBackOffThenFail: a receiver that always fails gets MaxAttempts
// attempts, further and further apart, then the delivery fails.
func TestWebhookRetriesBackOffThenFail(t *testing.T) {
	f := newImportFixture(t, "alerts-retries")
	rcv, url := newCountingReceiver(t, http.StatusServiceUnavailable)
	setRules(t, f, url, experiment.AlertRule{Outcome: "nps", Op: "<=", Value: 6})
	raise(t, f, 1)
	w := quietWorker(t, webhook.Options{Backoff: 50 * time.Millisecond, MaxAttempts: 4})
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for f.count(t, `SELECT count(*) FROM webhook_deliveries WHERE experiment_id = $1 AND status = 'pending'`) > 0 && time.Now().Before(deadline) {
		if _, err := w.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	list, err := f.svc.Alerts(ctx, f.e.Key, "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("%+v %v", list, err)
	}
	d := list[0].Delivery
	if d == nil || d.Status != experiment.DeliveryFailed || d.Attempts != 4 || d.LastStatusCode != 503 || d.LastError != "HTTP 503" {
		t.Fatalf("delivery %+v", d)
	}
	_, attempts, err := f.svc.Alert(ctx, list[0].ID)
	if err != nil || len(attempts) != 4 {
		t.Fatalf("attempts %+v %v", attempts, err)
	}
	// 50, 100, 200 ms apart (at least).
	for i := 1; i < len(attempts); i++ {
		gap := attempts[i].At.Sub(attempts[i-1].At)
		if want := 50 * time.Millisecond << (i - 1); gap < want {
			t.Errorf("attempt %d came %v after the previous one, want at least %v", i+1, gap, want)
		}
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for _, n := range rcv.byID {
		if n != 4 {
			t.Errorf("the receiver got %d attempts, want 4", n)
		}
	}
}

// TestWebhookRemovedFailsPendingDeliveries: deliveries of an experiment whose webhook is
// removed fail at their next attempt instead of staying pending forever; unreachable
// receivers are logged without their URL.
func TestWebhookRemovedFailsPendingDeliveries(t *testing.T) {
	s := pgtest.Store(t)
	f := newImportFixture(t, "alerts-removed")
	setRules(t, f, "http://127.0.0.1:1/hook?token=secret-token", experiment.AlertRule{Outcome: "nps", Op: "<=", Value: 6})
	raise(t, f, 2)
	ctx := context.Background()
	w := quietWorker(t, webhook.Options{Backoff: time.Hour, MaxBackoff: 2 * time.Hour})
	// The package's database is shared: other tests' due deliveries may be posted too.
	if n, err := w.DeliverDue(ctx); err != nil || n < 2 {
		t.Fatalf("delivered %d, %v", n, err)
	}
	list, err := f.svc.Alerts(ctx, f.e.Key, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if d := a.Delivery; d.Status != experiment.DeliveryPending || d.LastStatusCode != 0 || d.LastError == "" ||
			strings.Contains(d.LastError, "token") || d.NextAttemptAt == nil || time.Until(*d.NextAttemptAt) < 50*time.Minute {
			t.Errorf("after a refused connection: %+v", d)
		}
	}
	setRules(t, f, "", experiment.AlertRule{Outcome: "nps", Op: "<=", Value: 6})
	if _, err := s.DB().Exec(`UPDATE webhook_deliveries SET next_attempt_at = now() WHERE experiment_id = $1`, f.e.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := w.DeliverDue(ctx); err != nil || n < 2 {
		t.Fatalf("delivered %d, %v", n, err)
	}
	if n := f.count(t, `SELECT count(*) FROM webhook_deliveries WHERE experiment_id = $1 AND status = 'failed'`); n != 2 {
		t.Errorf("%d failed deliveries, want 2", n)
	}
}
