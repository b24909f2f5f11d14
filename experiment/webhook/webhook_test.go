package webhook

import (
	"testing"
	"time"
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
