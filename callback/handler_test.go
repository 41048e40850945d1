package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

func TestDeliverySignedAndDelivered(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	recv := newTestReceiver(t, http.StatusOK)
	secret := NewSecret()

	id := s.submitCallback(t, testReq{Value: "a"}, recv.srv.URL+"/hook", secret)
	job := s.waitDelivery(t, id, jobs.DeliveryDelivered)

	got := recv.deliveries()
	require.Len(t, got, 1, "deliveries")
	assert.Equal(t, 1, job.Callback.Attempts, "attempts")
	assert.False(t, job.Callback.DeliveredAt.IsZero(), "delivered_at set")
	assert.Equal(t, "msg_"+id, got[0].header.Get(HeaderWebhookID))
	assert.Equal(t, wire.ContentTypeJSON, got[0].header.Get("Content-Type"))
	require.NoError(t, Verify(secret, got[0].header, got[0].body, 0), "signature of the delivery")

	st, err := wire.DecodeStatus(got[0].body)
	require.NoError(t, err)
	assert.Equal(t, id, st.ID)
	assert.Equal(t, jobs.StateSucceeded, st.State)
	assert.JSONEq(t, `{"echo":"a"}`, string(st.Result))
	assert.NotContains(t, string(got[0].body), secret, "the delivery body must not carry the secret")
}

func TestDeliveryRetriedUntilReceiverRecovers(t *testing.T) {
	var infos []DeliveryInfo
	infoCh := make(chan DeliveryInfo, 16)
	s := newTestServer(t, HandlerConfig{
		AllowPrivateCallbacks: true,
		OnDelivery:            func(i DeliveryInfo) { infoCh <- i },
	})
	recv := newTestReceiver(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusInternalServerError, http.StatusOK)
	secret := NewSecret()

	id := s.submitCallback(t, testReq{Value: "b"}, recv.srv.URL, secret)
	job := s.waitDelivery(t, id, jobs.DeliveryDelivered)

	got := recv.deliveries()
	require.Len(t, got, 4, "attempts seen by the receiver")
	assert.Equal(t, 4, job.Callback.Attempts, "attempts recorded")
	assert.Empty(t, job.Callback.LastError, "last error after success")
	for i, d := range got {
		assert.Equal(t, "msg_"+id, d.header.Get(HeaderWebhookID), "webhook-id of attempt %d", i+1)
		assert.NoError(t, Verify(secret, d.header, d.body, 0), "signature of attempt %d", i+1)
	}

	for len(infos) < 4 {
		select {
		case info := <-infoCh:
			infos = append(infos, info)
		case <-time.After(2 * time.Second):
			t.Fatalf("OnDelivery reported %d attempts, want 4", len(infos))
		}
	}
	assert.Equal(t, http.StatusServiceUnavailable, infos[0].StatusCode)
	assert.Equal(t, jobs.DeliveryPending, infos[0].State)
	assert.False(t, infos[0].NextAttempt.IsZero(), "next attempt after a failure")
	assert.ErrorContains(t, infos[0].Err, "503")
	assert.Equal(t, 4, infos[3].Attempt)
	assert.Equal(t, jobs.DeliveryDelivered, infos[3].State)
	assert.NoError(t, infos[3].Err)
}

func TestDeliveryDeadLetteredAfterGiveUp(t *testing.T) {
	giveUp := 150 * time.Millisecond
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true, Retry: RetrySchedule{GiveUpAfter: giveUp}})
	recv := newTestReceiver(t, http.StatusInternalServerError)

	id := s.submitCallback(t, testReq{Value: "c"}, recv.srv.URL, NewSecret())
	job := s.waitDelivery(t, id, jobs.DeliveryDead)

	attempts := len(recv.deliveries())
	assert.GreaterOrEqual(t, attempts, 2, "attempts before giving up")
	assert.Equal(t, attempts, job.Callback.Attempts, "attempts recorded")
	assert.Contains(t, job.Callback.LastError, "gave up")
	assert.Contains(t, job.Callback.LastError, "500")
	assert.True(t, job.Callback.NextAttempt.IsZero(), "no next attempt after dead-lettering")
	assert.False(t, job.ExpiresAt.Before(job.FinishedAt.Add(giveUp).Add(s.rt.Retention())),
		"expires_at %v must be at least a retention after the last attempt", job.ExpiresAt)

	code, st := s.getStatus(t, id)
	require.Equal(t, http.StatusOK, code, "GET of a dead-lettered job")
	assert.Equal(t, jobs.StateSucceeded, st.State)
	assert.JSONEq(t, `{"echo":"c"}`, string(st.Result))
	require.NotNil(t, st.Callback)
	assert.Equal(t, jobs.DeliveryDead, st.Callback.State)

	time.Sleep(50 * time.Millisecond)
	assert.Len(t, recv.deliveries(), attempts, "attempts after dead-lettering")
}

func TestDeliveryGoneStopsRetries(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	recv := newTestReceiver(t, http.StatusGone)

	id := s.submitCallback(t, testReq{Value: "d"}, recv.srv.URL, NewSecret())
	job := s.waitDelivery(t, id, jobs.DeliveryDead)

	assert.Equal(t, 1, job.Callback.Attempts, "attempts")
	assert.Contains(t, job.Callback.LastError, "410")
	time.Sleep(50 * time.Millisecond)
	assert.Len(t, recv.deliveries(), 1, "requests after 410 Gone")
}

func TestDeliveryRedirectNotFollowed(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true, Retry: RetrySchedule{GiveUpAfter: 100 * time.Millisecond}})
	target := newTestReceiver(t, http.StatusOK)
	redirecting := httptest.NewServer(http.RedirectHandler(target.srv.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirecting.Close)

	id := s.submitCallback(t, testReq{Value: "e"}, redirecting.URL, NewSecret())
	job := s.waitDelivery(t, id, jobs.DeliveryDead)

	assert.Empty(t, target.deliveries(), "requests that reached the redirect's target")
	assert.Contains(t, job.Callback.LastError, "307")
	assert.Contains(t, job.Callback.LastError, "redirects are not followed")
}

func TestDeliveryHonoursRetryAfterWithinMaxBackoff(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	var calls atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			// One hour, which MaxBackoff (20 ms in these tests) caps.
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(recv.Close)

	id := s.submitCallback(t, testReq{Value: "f"}, recv.URL, NewSecret())
	job := s.waitDelivery(t, id, jobs.DeliveryDelivered)
	assert.Equal(t, 2, job.Callback.Attempts, "attempts")
}

func TestDeliveryRetryHonoursShortBackoff(t *testing.T) {
	// The retry comes due at most 20 ms after the first attempt, long before
	// the next read of the store at the dispatch interval.
	s := newTestServer(t, HandlerConfig{
		AllowPrivateCallbacks: true,
		DispatchInterval:      time.Second,
		Retry:                 RetrySchedule{MinBackoff: 20 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
	})
	var mu sync.Mutex
	var times []time.Time
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		first := len(times) == 1
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(recv.Close)

	id := s.submitCallback(t, testReq{Value: "soon"}, recv.URL, NewSecret())
	job := s.waitDelivery(t, id, jobs.DeliveryDelivered)
	assert.Equal(t, 2, job.Callback.Attempts, "attempts")

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, times, 2, "attempts seen by the receiver")
	assert.Less(t, times[1].Sub(times[0]), 500*time.Millisecond, "time from the first attempt to the retry")
}

func TestDispatcherNextWait(t *testing.T) {
	rt := jobs.New(jobs.EngineRunner[testReq, testRes](testEngine), jobs.Config{})
	t.Cleanup(func() { require.NoError(t, rt.Shutdown(context.Background())) })
	d := &dispatcher{rt: rt, interval: time.Second}
	now := rt.Now()

	assert.Equal(t, time.Second, d.nextWait(now), "wait without retries")

	d.scheduleRetry(now.Add(time.Hour))
	d.scheduleRetry(now.Add(-time.Millisecond))
	d.scheduleRetry(now.Add(200 * time.Millisecond))
	wait := d.nextWait(now)
	assert.Greater(t, wait, 100*time.Millisecond, "wait until the retry due in 200 ms")
	assert.LessOrEqual(t, wait, 200*time.Millisecond, "wait until the retry due in 200 ms")
	assert.Len(t, d.retries, 2, "retries kept after the one that was due")

	d.retries = nil
	d.scheduleRetry(now.Add(-time.Millisecond))
	assert.Zero(t, d.nextWait(now.Add(-time.Second)), "wait for a retry that came due after the listing")

	d.retries = nil
	for i := 0; i < maxScheduledRetries+10; i++ {
		d.scheduleRetry(now.Add(time.Hour))
	}
	assert.Len(t, d.retries, maxScheduledRetries, "retries kept at the cap")
}

func TestDeliveryToLoopbackRefusedByDefault(t *testing.T) {
	infoCh := make(chan DeliveryInfo, 4)
	s := newTestServer(t, HandlerConfig{OnDelivery: func(i DeliveryInfo) { infoCh <- i }})
	recv := newTestReceiver(t, http.StatusOK)

	// The handler refuses a literal loopback URL at submit, so the job is
	// created through the runtime to reach the dialer's check.
	body, err := json.Marshal(testReq{Value: "g"})
	require.NoError(t, err)
	job, _, err := s.rt.Submit(context.Background(), jobs.Submission{
		Request:  body,
		Callback: &jobs.Callback{URL: recv.srv.URL, Secret: NewSecret(), State: jobs.DeliveryPending},
	})
	require.NoError(t, err)

	job = s.waitDelivery(t, job.ID, jobs.DeliveryDead)
	assert.Empty(t, recv.deliveries(), "requests that reached the loopback receiver")
	assert.Equal(t, 1, job.Callback.Attempts, "attempts")
	assert.Contains(t, job.Callback.LastError, "127.0.0.1")
	assert.Contains(t, job.Callback.LastError, "loopback")

	info := <-infoCh
	assert.ErrorIs(t, info.Err, ErrForbiddenAddress)
	assert.Equal(t, 0, info.StatusCode, "status code of a refused dial")
}

func TestSubmitRejectsInvalidCallback(t *testing.T) {
	s := newTestServer(t, HandlerConfig{})
	secret := NewSecret()
	body := `{"value":"h"}`

	tests := []struct {
		name   string
		url    string
		secret string
		detail string // a part of the problem's detail
	}{
		{"missing URL", "", secret, "Longhaul-Callback-Url is missing"},
		{"relative URL", "/hooks", secret, "scheme"},
		{"ftp scheme", "ftp://example.com/hooks", secret, "scheme"},
		{"no host", "http:///hooks", secret, "no host"},
		{"user info", "https://user:pass@example.com/hooks", secret, "user info"},
		{"fragment", "https://example.com/hooks#x", secret, "fragment"},
		{"too long", "https://example.com/" + strings.Repeat("a", MaxCallbackURLBytes), secret, "over the limit"},
		{"not a URL", "https://exa mple.com/", secret, "not a valid URL"},
		{"loopback address", "http://127.0.0.1:9/hooks", secret, "loopback"},
		{"metadata address", "http://169.254.169.254/latest", secret, "link-local"},
		{"mapped private address", "http://[::ffff:10.0.0.1]/hooks", secret, "private"},
		{"localhost name", "http://localhost:8080/hooks", secret, "loopback name"},
		{"missing secret", "https://example.com/hooks", "", "Longhaul-Callback-Secret is missing"},
		{"secret without prefix", "https://example.com/hooks", strings.TrimPrefix(secret, SecretPrefix), "invalid webhook secret"},
		{"short secret", "https://example.com/hooks", SecretPrefix + "c2hvcnQ=", "invalid webhook secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := map[string]string{wire.HeaderCallbackSecret: tt.secret}
			if tt.url != "" {
				header[wire.HeaderCallbackURL] = tt.url
			}
			code, answer := s.submit(t, body, header)
			require.Equal(t, http.StatusBadRequest, code, "answer: %s", answer)

			p, err := wire.DecodeProblem(answer)
			require.NoError(t, err)
			assert.Equal(t, transport.CodeInvalidRequest, p.Code)
			assert.Contains(t, p.Detail, tt.detail)
			if tt.secret != "" {
				assert.NotContains(t, string(answer), tt.secret, "the problem must not repeat the secret")
			}
		})
	}

	queued, running, err := s.rt.Store().Counts(context.Background())
	require.NoError(t, err)
	assert.Zero(t, queued+running, "jobs created by rejected submits")
}

func TestHandlerServesStatusAndCancel(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	recv := newTestReceiver(t, http.StatusOK)
	id := s.submitCallback(t, testReq{Block: true}, recv.srv.URL, NewSecret())

	code, st := s.getStatus(t, id)
	require.Equal(t, http.StatusOK, code)
	assert.False(t, st.State.Finished(), "state %s of a blocked job", st.State)
	require.NotNil(t, st.Callback)
	assert.Equal(t, jobs.DeliveryPending, st.Callback.State)

	req, err := http.NewRequest(http.MethodDelete, s.srv.URL+"/jobs/"+id, nil)
	require.NoError(t, err)
	resp, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "DELETE answer")

	// The cancellation is a final state, and it is delivered too.
	s.waitDelivery(t, id, jobs.DeliveryDelivered)
	got := recv.deliveries()
	require.Len(t, got, 1)
	delivered, err := wire.DecodeStatus(got[0].body)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateCanceled, delivered.State)
}

func TestShutdownLeavesDeliveryPending(t *testing.T) {
	rt := jobs.New(jobs.EngineRunner[testReq, testRes](testEngine), jobs.Config{})
	defer func() { require.NoError(t, rt.Shutdown(context.Background())) }()

	// A receiver that accepts the connection but never responds holds the attempt open.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			accepted <- conn
		}
	}()
	defer ln.Close()

	h := NewHandler(rt, HandlerConfig{AllowPrivateCallbacks: true, DispatchInterval: 5 * time.Millisecond, DeliveryTimeout: time.Minute})
	body, err := json.Marshal(testReq{Value: "i"})
	require.NoError(t, err)
	job, _, err := rt.Submit(context.Background(), jobs.Submission{
		Request:  body,
		Callback: &jobs.Callback{URL: "http://" + ln.Addr().String() + "/hook", Secret: NewSecret(), State: jobs.DeliveryPending},
	})
	require.NoError(t, err)

	var conn net.Conn
	select {
	case conn = <-accepted:
		defer conn.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the delivery never connected")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = h.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "shutdown with a delivery in flight")
	assert.Less(t, time.Since(start), 2*time.Second, "shutdown duration")

	stored, err := rt.Store().Get(context.Background(), job.ID)
	require.NoError(t, err)
	assert.Equal(t, jobs.DeliveryPending, stored.Callback.State, "delivery state after shutdown")
	assert.Zero(t, stored.Callback.Attempts, "an interrupted attempt is not counted")
	assert.False(t, stored.Callback.NextAttempt.After(time.Now()), "the delivery is due again at once")
	assert.NoError(t, h.Close(), "second stop")
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	s := RetrySchedule{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}.withDefaults()
	for attempt := 1; attempt <= 20; attempt++ {
		ceiling := min(s.MaxBackoff, s.MinBackoff<<min(attempt-1, 20))
		for i := 0; i < 50; i++ {
			d := s.backoff(attempt)
			require.GreaterOrEqual(t, d, time.Duration(0), "backoff of attempt %d", attempt)
			require.Less(t, d, ceiling, "backoff of attempt %d", attempt)
		}
	}

	defaults := RetrySchedule{}.withDefaults()
	assert.Equal(t, time.Second, defaults.MinBackoff)
	assert.Equal(t, time.Hour, defaults.MaxBackoff)
	assert.Equal(t, 25*time.Hour, defaults.GiveUpAfter)
}

func TestDeliveryTimestampIsFresh(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	recv := newTestReceiver(t, http.StatusOK)

	before := time.Now().Unix()
	id := s.submitCallback(t, testReq{Value: "j"}, recv.srv.URL, NewSecret())
	s.waitDelivery(t, id, jobs.DeliveryDelivered)

	ts, err := strconv.ParseInt(recv.deliveries()[0].header.Get(HeaderWebhookTimestamp), 10, 64)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, ts, before, "webhook-timestamp")
	assert.LessOrEqual(t, ts, time.Now().Unix(), "webhook-timestamp")
}

func TestDeliveryDeadLogLevel(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		giveUp    time.Duration
		wantLevel string
		wantMsg   string
	}{
		{name: "gone", status: http.StatusGone, wantLevel: "INFO", wantMsg: "no longer wants the result"},
		{name: "gave up", status: http.StatusInternalServerError, giveUp: 50 * time.Millisecond, wantLevel: "ERROR", wantMsg: "dead-lettered"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			infoCh := make(chan DeliveryInfo, 64)
			s := newTestServer(t, HandlerConfig{
				AllowPrivateCallbacks: true,
				Retry:                 RetrySchedule{GiveUpAfter: tc.giveUp},
				Logger:                slog.New(slog.NewTextHandler(&logs, nil)),
				OnDelivery:            func(i DeliveryInfo) { infoCh <- i },
			})
			recv := newTestReceiver(t, tc.status)

			id := s.submitCallback(t, testReq{Value: "l"}, recv.srv.URL, NewSecret())
			// OnDelivery runs after the attempt's log line.
			for info := range infoCh {
				if info.State == jobs.DeliveryDead {
					break
				}
			}
			assert.Equal(t, jobs.DeliveryDead, s.job(t, id).Callback.State, "delivery state")

			var deadLines []string
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "job_id="+id) && !strings.Contains(line, "will retry") && strings.Contains(line, "msg=\"callback") {
					deadLines = append(deadLines, line)
				}
			}
			require.Len(t, deadLines, 1, "log lines of the dead delivery in:\n%s", logs.String())
			assert.Contains(t, deadLines[0], "level="+tc.wantLevel)
			assert.Contains(t, deadLines[0], tc.wantMsg)
		})
	}
}

// syncBuffer is a bytes.Buffer that is safe for concurrent use, for logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestDispatcherStoresNoContext(t *testing.T) {
	// Each delivery gets its own context, canceled at shutdown, so the
	// dispatcher keeps cancel functions and no context.
	contextType := reflect.TypeFor[context.Context]()
	dispatcherType := reflect.TypeFor[dispatcher]()
	for i := range dispatcherType.NumField() {
		field := dispatcherType.Field(i)
		assert.False(t, field.Type == contextType, "dispatcher field %s is a context.Context", field.Name)
	}
}
