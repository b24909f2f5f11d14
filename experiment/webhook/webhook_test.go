package webhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
)

// The reference signature was computed with Python:
// hmac.new(b'0123456789abcdef', b'{"alert_id":1}', hashlib.sha256).hexdigest()
func TestSign(t *testing.T) {
	const want = "sha256=fd56cc26c12b7111ab1a6bbbf176a9cf20c3ff43dbe2ec47f60403045be45c2a"
	body := []byte(`{"alert_id":1}`)
	if got := Sign("0123456789abcdef", body); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if !Verify("0123456789abcdef", body, want) || Verify("0123456789abcdeF", body, want) ||
		Verify("0123456789abcdef", []byte(`{"alert_id":2}`), want) {
		t.Error("Verify")
	}
}

func TestWebhookBackoff(t *testing.T) {
	w := NewWorker(nil, Options{Backoff: time.Second, MaxBackoff: 10 * time.Second})
	for n, want := range []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if n == 0 {
			continue
		}
		if got := w.backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
	if got := w.backoff(1000); got != 10*time.Second {
		t.Errorf("backoff(1000) = %v", got)
	}
	if w.lease() <= w.opt.Timeout {
		t.Errorf("lease %v not longer than an attempt (%v)", w.lease(), w.opt.Timeout)
	}
}

// oneDelivery is an AlertStore that hands out one delivery and keeps the attempt recorded.
type oneDelivery struct {
	experiment.AlertStore // the methods the worker never calls
	mu                    sync.Mutex
	due                   []experiment.PendingDelivery
	attempts              []experiment.DeliveryAttempt
}

func (s *oneDelivery) ClaimDeliveries(context.Context, int, time.Duration) ([]experiment.PendingDelivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	due := s.due
	s.due = nil
	return due, nil
}

func (s *oneDelivery) RecordDeliveryAttempt(_ context.Context, _ experiment.PendingDelivery, a experiment.DeliveryAttempt, _ experiment.DeliveryStatus, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts = append(s.attempts, a)
	return nil
}

// deliverOnce posts one delivery to url with a worker of policy and returns the attempt.
func deliverOnce(t *testing.T, policy experiment.WebhookPolicy, url string) experiment.DeliveryAttempt {
	t.Helper()
	store := &oneDelivery{due: []experiment.PendingDelivery{{ID: 1, Attempt: 1, URL: url, Secret: "0123456789abcdef"}}}
	w := NewWorker(store, Options{Policy: policy, Timeout: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if n, err := w.DeliverDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("DeliverDue = %d, %v", n, err)
	}
	if len(store.attempts) != 1 {
		t.Fatalf("%d attempts recorded", len(store.attempts))
	}
	return store.attempts[0]
}

// counter is an HTTP server on the loopback interface that counts its requests.
func counter(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestWorkerRefusesInternalAddresses: the worker checks the policy on the stored URL and
// again on every address it connects to, whatever the name; an allowance opens what it
// names and nothing else; a redirect is never followed.
func TestWorkerRefusesInternalAddresses(t *testing.T) {
	srv, hits := counter(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]

	// The default policy: neither the address nor a name of the loopback interface.
	for _, url := range []string{srv.URL + "/hook", "http://localhost:" + port + "/hook", "http://0x7f000001:" + port + "/"} {
		a := deliverOnce(t, experiment.WebhookPolicy{}, url)
		if a.StatusCode != 0 || a.Class() != experiment.ClassRefused {
			t.Errorf("%s: attempt %+v, want refused by policy", url, a)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback receiver got %d requests under the default policy", n)
	}

	// Connect time: a name that the URL check lets through but that resolves to loopback
	// (as a name re-pointed after it was stored would) is refused by the dialer.
	tr := Transport(experiment.WebhookPolicy{})
	for _, addr := range []string{"localhost:" + port, "127.0.0.1:" + port, "[::ffff:127.0.0.1]:" + port} {
		conn, err := tr.DialContext(context.Background(), "tcp", addr)
		if err == nil {
			conn.Close()
			t.Errorf("dialled %s under the default policy", addr)
		} else if !errors.Is(err, experiment.ErrWebhookRefused) {
			t.Errorf("dial %s: %v, not refused by policy", addr, err)
		}
	}
	// The same through the worker, with the machine's own name where it resolves to
	// loopback or a private address only.
	if name, err := os.Hostname(); err == nil && !strings.Contains(name, ".localhost") && name != "localhost" {
		addrs, _ := net.LookupHost(name)
		internal := len(addrs) > 0
		for _, a := range addrs {
			ip, err := netip.ParseAddr(a)
			internal = internal && err == nil && (experiment.WebhookPolicy{}).CheckDial("", ip) != nil
		}
		if internal {
			a := deliverOnce(t, experiment.WebhookPolicy{}, "http://"+name+":"+port+"/hook")
			if a.Class() != experiment.ClassRefused || !strings.HasPrefix(a.Error, "refused by policy: ") {
				t.Errorf("posted to %s (%v): attempt %+v, want refused by policy when connecting", name, addrs, a)
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback receiver got %d requests under the default policy", n)
	}

	// Allowed explicitly, by network or by name.
	loopback, err := experiment.ParseWebhookAllow("127.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	if a := deliverOnce(t, loopback, srv.URL+"/hook"); a.StatusCode != http.StatusNoContent || a.Error != "" {
		t.Errorf("allowed 127.0.0.0/8: attempt %+v", a)
	}
	byName, err := experiment.ParseWebhookAllow("localhost")
	if err != nil {
		t.Fatal(err)
	}
	if a := deliverOnce(t, byName, "http://localhost:"+port+"/hook"); a.StatusCode != http.StatusNoContent {
		t.Errorf("allowed localhost: attempt %+v", a)
	}
	if a := deliverOnce(t, byName, srv.URL+"/hook"); a.Class() != experiment.ClassRefused {
		t.Errorf("allowed localhost, posted to 127.0.0.1: attempt %+v", a)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("the receiver got %d requests, want 2", n)
	}

	// A redirect from an allowed receiver to a refused address is not followed.
	target, targetHits := counter(t, func(w http.ResponseWriter, _ *http.Request) {})
	redirector, _ := counter(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/internal", http.StatusTemporaryRedirect)
	})
	a := deliverOnce(t, byName, "http://localhost:"+redirector.URL[strings.LastIndexByte(redirector.URL, ':')+1:]+"/hook")
	if a.StatusCode != http.StatusTemporaryRedirect || a.Class() != "3xx" || targetHits.Load() != 0 {
		t.Errorf("redirect: attempt %+v, the target got %d requests", a, targetHits.Load())
	}
}
