// Package webhook delivers alerts to the webhooks of their experiments: signed with
// HMAC-SHA256, retried with exponential backoff, every attempt logged. It is the one part of
// closing the loop that speaks HTTP, kept out of the domain package.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/krslab/krslab/experiment"
)

// Sign is the X-Krslab-Signature of a webhook body: "sha256=" and the hex
// HMAC-SHA256 of the body with the webhook's secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature in constant time, for receivers written in Go.
func Verify(secret string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}

// Payload is the JSON body of a webhook. It names the customer: that is its point.
type Payload struct {
	AlertID    int64     `json:"alert_id"`
	DeliveryID int64     `json:"delivery_id"`
	Attempt    int       `json:"attempt"`
	Experiment string    `json:"experiment"`
	CustomerID string    `json:"customer_id"`
	ResponseID string    `json:"response_id"`
	Outcome    string    `json:"outcome"`
	Value      float64   `json:"value"`
	Rule       string    `json:"rule"`
	AnsweredAt time.Time `json:"answered_at"`
	RaisedAt   time.Time `json:"raised_at"`
	SentAt     time.Time `json:"sent_at"`
}

// Options tune the Worker; zero values take the defaults.
type Options struct {
	// Policy is where webhooks may be posted: the service's (experiment.Service.Webhooks),
	// checked again on every address the default Client connects to.
	Policy experiment.WebhookPolicy
	// Client, when set, is used as it is: the policy is then checked on the URL only, the
	// client must check what it connects to. Default: Policy checked on every connection,
	// no proxy, no redirects followed, Timeout per attempt.
	Client      *http.Client
	Timeout     time.Duration // per attempt, default 10 s
	Poll        time.Duration // how often due deliveries are looked for, default 1 s
	Backoff     time.Duration // wait before the first retry, doubled each time; default 1 s
	MaxBackoff  time.Duration // default 10 min
	MaxAttempts int           // then the delivery fails; default 8
	Batch       int           // deliveries claimed (and posted concurrently) per poll, default 16
	Logger      *slog.Logger
	Now         func() time.Time
}

// Worker posts pending alert deliveries to their webhooks: at least once, signed,
// retried with exponential backoff, every attempt logged. Any number of workers (one per
// `krslab serve`) may run on one database: a delivery is claimed by one at a time.
type Worker struct {
	store experiment.AlertStore
	opt   Options
}

// NewWorker returns a worker over store.
func NewWorker(store experiment.AlertStore, opt Options) *Worker {
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.Backoff <= 0 {
		opt.Backoff = time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 10 * time.Minute
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 8
	}
	if opt.Batch <= 0 {
		opt.Batch = 16
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = func() time.Time { return time.Now().UTC() }
	}
	if opt.Client == nil {
		opt.Client = &http.Client{
			Timeout:   opt.Timeout,
			Transport: Transport(opt.Policy),
			// A redirect would turn the POST into a GET elsewhere, perhaps somewhere the
			// policy refuses: it counts as a failure and is never followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Worker{store: store, opt: opt}
}

// Transport connects only where policy allows: every address a host name resolves to is
// checked when it is dialled (a net.Dialer Control function), so that a name re-pointed
// after the URL was checked, or a name that resolves to several addresses, gains nothing.
// It uses no proxy, which would connect on its behalf unchecked.
func Transport(policy experiment.WebhookPolicy) *http.Transport {
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			d := net.Dialer{
				Timeout: 10 * time.Second,
				Control: func(_, address string, _ syscall.RawConn) error {
					ap, err := netip.ParseAddrPort(address)
					if err != nil {
						return fmt.Errorf("%w: unexpected address %q", experiment.ErrWebhookRefused, address)
					}
					return policy.CheckDial(host, ap.Addr())
				},
			}
			return d.DialContext(ctx, network, address)
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// lease is how long a claimed delivery is hidden from other workers: longer than an attempt
// and its bookkeeping, so that it is posted twice only if its worker died.
func (w *Worker) lease() time.Duration { return 2*w.opt.Timeout + 30*time.Second }

// Run delivers until ctx is done, then lets the attempts in flight finish.
func (w *Worker) Run(ctx context.Context) {
	failing := false
	for {
		n, err := w.DeliverDue(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			// Once per outage, not once per poll.
			if !failing {
				w.opt.Logger.Warn("webhook worker cannot claim deliveries", "err", err)
			}
			failing = true
		case err == nil && failing:
			w.opt.Logger.Info("webhook worker claims deliveries again")
			failing = false
		}
		if n == w.opt.Batch && err == nil && ctx.Err() == nil {
			continue // more may be due
		}
		t := time.NewTimer(w.opt.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// DeliverDue claims the deliveries due now and posts them, concurrently; it returns how
// many it attempted.
func (w *Worker) DeliverDue(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	due, err := w.store.ClaimDeliveries(ctx, w.opt.Batch, w.lease())
	if err != nil {
		return 0, err
	}
	// A claimed delivery is attempted and recorded even when ctx ends meanwhile (shutdown):
	// the attempt is bounded by the client's timeout.
	dctx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for _, d := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.deliver(dctx, d)
		}()
	}
	wg.Wait()
	return len(due), nil
}

func (w *Worker) deliver(ctx context.Context, d experiment.PendingDelivery) {
	start := w.opt.Now()
	attempt := experiment.DeliveryAttempt{Attempt: d.Attempt, At: start}
	if d.URL == "" {
		attempt.Error = experiment.NoWebhookError
		w.record(ctx, d, attempt, experiment.DeliveryFailed, 0)
		return
	}
	// Again here: the URL may have been stored under a wider policy than this worker's.
	err := w.opt.Policy.CheckURL(d.URL)
	if err != nil && !errors.Is(err, experiment.ErrWebhookRefused) {
		err = fmt.Errorf("%w: %v", experiment.ErrWebhookRefused, err)
	}
	var body []byte
	if err == nil {
		body, err = json.Marshal(Payload{
			AlertID: d.Alert.ID, DeliveryID: d.ID, Attempt: d.Attempt, Experiment: d.Alert.Experiment,
			CustomerID: d.Alert.CustomerID, ResponseID: d.Alert.ResponseID, Outcome: d.Alert.Outcome,
			Value: d.Alert.Value, Rule: d.Alert.Rule().String(), AnsweredAt: d.Alert.AnsweredAt.UTC(),
			RaisedAt: d.Alert.RaisedAt.UTC(), SentAt: start.UTC().Truncate(time.Second),
		})
	}
	if err == nil {
		attempt.StatusCode, err = w.post(ctx, d, body, start)
	}
	attempt.Duration = w.opt.Now().Sub(start)
	if attempt.Duration < 0 {
		attempt.Duration = 0
	}
	ok := err == nil && attempt.StatusCode >= 200 && attempt.StatusCode < 300
	switch {
	case err != nil:
		attempt.Error = err.Error()
	case !ok:
		attempt.Error = fmt.Sprintf("HTTP %d", attempt.StatusCode)
	}
	// Never the customer id or the URL in the log: the delivery id leads to both.
	attrs := []any{"delivery_id", d.ID, "alert_id", d.Alert.ID, "experiment", d.Alert.Experiment,
		"attempt", d.Attempt, "status", attempt.StatusCode, "duration_ms", float64(attempt.Duration.Microseconds()) / 1000}
	switch {
	case ok:
		w.opt.Logger.Info("webhook delivered", attrs...)
		w.record(ctx, d, attempt, experiment.DeliveryDelivered, 0)
	case d.Attempt >= w.opt.MaxAttempts:
		w.opt.Logger.Warn("webhook delivery failed for good", append(attrs, "err", attempt.Error)...)
		w.record(ctx, d, attempt, experiment.DeliveryFailed, 0)
	default:
		retry := w.backoff(d.Attempt)
		w.opt.Logger.Warn("webhook delivery failed; will retry", append(attrs, "err", attempt.Error, "retry_in", retry.String())...)
		w.record(ctx, d, attempt, experiment.DeliveryPending, retry)
	}
}

// post sends one attempt and returns the HTTP status.
func (w *Worker) post(ctx context.Context, d experiment.PendingDelivery, body []byte, at time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("invalid webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "krslab-webhook/1")
	req.Header.Set("X-Krslab-Signature", Sign(d.Secret, body))
	req.Header.Set("X-Krslab-Delivery", strconv.FormatInt(d.ID, 10))
	req.Header.Set("X-Krslab-Timestamp", strconv.FormatInt(at.Unix(), 10))
	res, err := w.opt.Client.Do(req)
	if err != nil {
		// url.Error repeats the URL, which may carry a token of the receiver's: keep the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		switch {
		case errors.Is(err, experiment.ErrWebhookRefused):
			// The class of the attempt is read from the start of its error (Class).
			var oe *net.OpError
			if errors.As(err, &oe) {
				err = oe.Err
			}
			return 0, err
		case ue != nil && ue.Timeout():
			return 0, fmt.Errorf("no answer within %s", w.opt.Timeout)
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	return res.StatusCode, nil
}

// backoff is the wait after failed attempt n (from 1): Backoff, 2 Backoff, 4 Backoff...,
// at most MaxBackoff.
func (w *Worker) backoff(n int) time.Duration {
	d := w.opt.Backoff
	for i := 1; i < n && d < w.opt.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.opt.MaxBackoff)
}

func (w *Worker) record(ctx context.Context, d experiment.PendingDelivery, a experiment.DeliveryAttempt, status experiment.DeliveryStatus, retryIn time.Duration) {
	if len(a.Error) > 1000 {
		a.Error = strings.ToValidUTF8(a.Error[:1000], "")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.store.RecordDeliveryAttempt(ctx, d, a, status, retryIn); err != nil {
		// The lease runs out and the delivery is attempted again.
		w.opt.Logger.Warn("webhook attempt not recorded", "delivery_id", d.ID, "err", err)
	}
}
