package api_test

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
)

// allowLoopback is the allowance of tests whose webhook receivers are httptest servers on
// 127.0.0.1, which the default policy refuses.
func allowLoopback(t *testing.T) experiment.WebhookPolicy {
	t.Helper()
	p, err := experiment.ParseWebhookAllow("127.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWebhookURLRefusedByPolicy: by default an editor cannot point a webhook at loopback,
// link-local, private or other non-public addresses, however the host is written (422
// naming webhook.url); an operator's allowance opens what it names.
func TestWebhookURLRefusedByPolicy(t *testing.T) {
	e := newEnv(t)
	const key = "webhook-ssrf"
	e.createRunning(key, map[string]any{"arms": threeArms(), "outcomes": []string{"nps"}, "primary_outcome": "nps"})
	path := "/v1/experiments/" + key + "/alert-rules"
	put := func(role experiment.Role, url string) reply {
		return e.call(role, "PUT", path, map[string]any{"rules": []any{},
			"webhook": map[string]any{"url": url, "secret": alertSecret}})
	}
	for _, url := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]:5432/",
		"http://0x7f000001/",
		"http://2130706433/",
		"http://0177.0.0.1/",
		"http://127.1/",
		"http://localhost:5432/",
		"http://127.0.0.1:8080/",
		"http://[::ffff:127.0.0.1]/",
		"http://[::ffff:a9fe:a9fe]/",
		"http://10.0.0.5/hook",
		"http://172.16.3.4/hook",
		"http://192.168.1.10/hook",
		"http://100.64.0.1/hook",
		"http://[fd00::1]/hook",
		"http://[fe80::1]/hook",
		"http://0.0.0.0/",
		"http://[::]/",
		"http://224.0.0.1/",
	} {
		r := put(admin, url)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422: %s", url, r.Status, r.Body)
			continue
		}
		_, details := r.errorBody(t)
		if len(details) != 1 || details[0].Field != "webhook.url" || !strings.Contains(details[0].Message, "refused by policy") {
			t.Errorf("%s: %s", url, r.Body)
		}
	}
	e.must(http.StatusOK, editor, "PUT", path, map[string]any{"rules": []any{},
		"webhook": map[string]any{"url": "https://cx.example.com/hook", "secret": alertSecret}})

	e.svc.Webhooks, _ = experiment.ParseWebhookAllow("cx.corp.example,10.20.0.0/16")
	for url, ok := range map[string]bool{
		"https://cx.corp.example/hook": true,
		"http://10.20.1.2:8080/hook":   true,
		"http://10.21.1.2:8080/hook":   false,
		"http://127.0.0.1/hook":        false,
	} {
		if got := put(editor, url).Status; (got == http.StatusOK) != ok {
			t.Errorf("with an allowance, %s: status %d", url, got)
		}
	}
}

// TestDeliveryLogShowsClassesToNonAdmins: the delivery log tells everyone what an attempt
// came to (its class) and only admins the error, which names addresses and ports and
// whether something listens there.
func TestDeliveryLogShowsClassesToNonAdmins(t *testing.T) {
	e := newEnv(t)
	e.svc.Webhooks = allowLoopback(t)
	const key = "webhook-log"
	e.createRunning(key, map[string]any{"arms": threeArms(), "outcomes": []string{"nps"}, "primary_outcome": "nps"})

	// A port on which nothing listens.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	e.must(http.StatusOK, editor, "PUT", "/v1/experiments/"+key+"/alert-rules", map[string]any{
		"rules":   []map[string]any{{"outcome": "nps", "op": "<=", "value": 6}},
		"webhook": map[string]any{"url": "http://" + closed + "/hook", "secret": alertSecret}})
	assign(t, e, key, "cust-a")
	e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses", map[string]any{"response_id": "s-1",
		"customer_id": "cust-a", "answered_at": "2026-03-02T09:14:00Z", "answers": map[string]any{"nps": 2}})
	alerts := e.alerts("experiment=" + key)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts", len(alerts))
	}
	id := strconv.FormatInt(alerts[0].ID, 10)
	waitAttempts := func(n int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			var d alertReply
			e.must(http.StatusOK, admin, "GET", "/v1/alerts/"+id, nil).json(t, &d)
			if len(d.Attempts) >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d attempts, want %d", len(d.Attempts), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The first attempt finds no one listening; the second is made by a worker whose
	// operator has withdrawn the allowance since the URL was stored.
	stop := startWorker(t, &syncBuffer{}, e.svc.Webhooks)
	waitAttempts(1)
	stop()
	stop = startWorker(t, &syncBuffer{}, experiment.WebhookPolicy{})
	waitAttempts(2)
	stop()

	for _, role := range []experiment.Role{analyst, editor, admin} {
		r := e.must(http.StatusOK, role, "GET", "/v1/alerts/"+id, nil)
		list := e.must(http.StatusOK, role, "GET", "/v1/alerts?experiment="+key, nil)
		var d alertReply
		r.json(t, &d)
		// The first worker may have tried twice, the second too.
		for i, a := range d.Attempts {
			want := experiment.ClassRefused
			if i == 0 {
				want = experiment.ClassConnection
			}
			if a.Class != want && (i == 0 || i == len(d.Attempts)-1) || a.StatusCode != nil {
				t.Errorf("%s: attempt %d %+v, want class %q", role, i+1, a, want)
			}
			if (a.Error != nil) != (role == admin) {
				t.Errorf("%s: attempt %d error %v", role, i+1, a.Error)
			}
		}
		if c := d.Delivery.LastClass; c == nil || *c != experiment.ClassRefused {
			t.Errorf("%s: delivery %+v", role, d.Delivery)
		}
		if role == admin {
			if d.Attempts[0].Error == nil || !strings.Contains(*d.Attempts[0].Error, "connection refused") ||
				d.Delivery.LastError == nil || !strings.Contains(*d.Delivery.LastError, "loopback") {
				t.Errorf("admin: %s", r.Body)
			}
			continue
		}
		port := closed[strings.LastIndexByte(closed, ':')+1:]
		for _, body := range []string{string(r.Body), string(list.Body)} {
			for _, leak := range []string{"connection refused", "dial", "127.0.0.1", ":" + port, "loopback", `"last_error":"`, `"error":"`} {
				if strings.Contains(body, leak) {
					t.Errorf("%s sees %q: %s", role, leak, body)
				}
			}
		}
	}
}
