package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
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

// slowFallback makes the fallback reads too rare to matter in a test, so a
// result can only arrive by delivery.
const slowFallback = time.Hour

func TestClientRoundTripByDelivery(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	c := newTestClient(t, s, Config{FallbackPollInterval: slowFallback})

	var accepted string
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Do(ctx, testReq{Value: "hello", Steps: 2}, transport.WithOnAccepted(func(id string) { accepted = id }))
	require.NoError(t, err)
	assert.Equal(t, "hello", res.Echo)
	require.True(t, jobs.ValidID(accepted), "OnAccepted job ID %q", accepted)

	job := s.waitDelivery(t, accepted, jobs.DeliveryDelivered)
	assert.Equal(t, 1, job.Callback.Attempts, "delivery attempts")
	u, err := url.Parse(job.Callback.URL)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", u.Hostname(), "callback host")
	assert.Equal(t, defaultReceiverPath, u.Path, "callback path")
	assert.NotEmpty(t, u.Query().Get(callParam), "call token in the callback URL")
}

func TestClientConcurrentCalls(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	c := newTestClient(t, s, Config{FallbackPollInterval: slowFallback})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	const calls = 8
	var wg sync.WaitGroup
	results := make([]string, calls)
	errs := make([]error, calls)
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Do(ctx, testReq{Value: strconv.Itoa(i)})
			results[i], errs[i] = res.Echo, err
		}()
	}
	wg.Wait()

	for i := 0; i < calls; i++ {
		require.NoError(t, errs[i], "call %d", i)
		assert.Equal(t, strconv.Itoa(i), results[i], "result of call %d", i)
	}
}

func TestClientJobFailure(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	c := newTestClient(t, s, Config{FallbackPollInterval: slowFallback})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Do(ctx, testReq{Value: "x", Fail: true})

	var jobErr *transport.JobError
	require.ErrorAs(t, err, &jobErr)
	assert.Equal(t, "stock-unavailable", jobErr.Problem.Code)
	assert.True(t, jobs.ValidID(jobErr.JobID), "job ID %q in the error", jobErr.JobID)
	assert.Contains(t, jobErr.Problem.Detail, `"x"`)
}

func TestClientRejectedRequest(t *testing.T) {
	s := newTestServer(t, HandlerConfig{})
	c := newTestClient(t, s, Config{})

	// The server refuses to deliver to the client's loopback receiver.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Do(ctx, testReq{Value: "y"})

	var jobErr *transport.JobError
	require.ErrorAs(t, err, &jobErr)
	assert.Equal(t, transport.CodeInvalidRequest, jobErr.Problem.Code)
	assert.Contains(t, jobErr.Problem.Detail, "loopback")
}

func TestClientCallerCancelIsPrompt(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	c := newTestClient(t, s, Config{FallbackPollInterval: slowFallback})

	accepted := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, testReq{Block: true}, transport.WithOnAccepted(func(id string) { accepted <- id }))
		done <- err
	}()

	var id string
	select {
	case id = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("job never accepted")
	}
	cancel()
	start := time.Now()

	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), time.Second, "time from cancel to return")
	case <-time.After(2 * time.Second):
		t.Fatal("Do did not return after its context was canceled")
	}

	// The best-effort DELETE cancels the job on the server.
	require.Eventually(t, func() bool {
		return s.job(t, id).State == jobs.StateCanceled
	}, 5*time.Second, 5*time.Millisecond, "job state after the caller canceled")
}

func TestClientCallerDeadlineTravels(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	c := newTestClient(t, s, Config{FallbackPollInterval: slowFallback})

	accepted := make(chan string, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, testReq{Block: true}, transport.WithOnAccepted(func(id string) { accepted <- id }))
		done <- err
	}()

	id := <-accepted
	deadline, _ := ctx.Deadline()
	job := s.job(t, id)
	assert.WithinDuration(t, deadline, job.Deadline, 2*time.Second, "job deadline")

	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	require.Eventually(t, func() bool {
		return s.job(t, id).State == jobs.StateCanceled
	}, 5*time.Second, 5*time.Millisecond, "job state after the caller canceled")
}

func TestClientFallbackReadWhenDeliveryCannotArrive(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})

	// A loopback port with nothing listening: every delivery is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedURL := "http://" + ln.Addr().String() + "/callbacks"
	require.NoError(t, ln.Close())

	c := newTestClient(t, s, Config{PublicURL: closedURL, FallbackPollInterval: 30 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var id string
	res, err := c.Do(ctx, testReq{Value: "fallback", Steps: 3}, transport.WithOnAccepted(func(j string) { id = j }))
	require.NoError(t, err)
	assert.Equal(t, "fallback", res.Echo)

	job := s.job(t, id)
	require.NotNil(t, job.Callback)
	assert.NotEqual(t, jobs.DeliveryDelivered, job.Callback.State, "delivery state")
	assert.NotEmpty(t, job.Callback.LastError, "delivery error")
}

func TestClientFallbackReadsKeepInterval(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedURL := "http://" + ln.Addr().String() + "/callbacks"
	require.NoError(t, ln.Close())

	// The job's progress changes every 5 ms for 300 ms, far more often than
	// the reads may come.
	interval := 100 * time.Millisecond
	c := newTestClient(t, s, Config{PublicURL: closedURL, FallbackPollInterval: interval})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	res, err := c.Do(ctx, testReq{Value: "paced", Steps: 60})
	require.NoError(t, err)
	assert.Equal(t, "paced", res.Echo)

	took := time.Since(start)
	maxReads := int64(took/interval) + 1
	assert.LessOrEqual(t, s.reads.Load(), maxReads, "reads in %v with an interval of %v", took, interval)
}

func TestClientProgress(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	c := newTestClient(t, s, Config{FallbackPollInterval: slowFallback, ProgressInterval: 5 * time.Millisecond})

	var mu sync.Mutex
	var reports []transport.Progress
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Do(ctx, testReq{Value: "p", Steps: 10}, transport.WithProgress(func(p transport.Progress) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, p)
	}))
	require.NoError(t, err)

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, reports, "progress reports")
	assert.Equal(t, transport.Progress{Done: 10, Total: 10}, reports[len(reports)-1], "last report")
	assert.GreaterOrEqual(t, len(reports), 2, "reports before the end")
	for i := 1; i < len(reports); i++ {
		assert.NotEqual(t, reports[i-1], reports[i], "report %d repeats the one before", i)
	}
}

func TestClientCloseEndsCalls(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	c, err := NewClient[testReq, testRes](s.srv.URL, Config{FallbackPollInterval: slowFallback})
	require.NoError(t, err)

	accepted := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(context.Background(), testReq{Block: true}, transport.WithOnAccepted(func(id string) { accepted <- id }))
		done <- err
	}()
	id := <-accepted

	require.NoError(t, c.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, transport.ErrClosed)
	case <-time.After(2 * time.Second):
		t.Fatal("Do did not return after Close")
	}

	_, err = c.Do(context.Background(), testReq{Value: "late"})
	assert.ErrorIs(t, err, transport.ErrClosed, "Do after Close")
	assert.NoError(t, c.Close(), "second Close")

	// The job keeps running after Close; cancel it so the server stops quickly.
	_, err = s.rt.Cancel(context.Background(), "", id)
	require.NoError(t, err)
}

func TestClientResumeAndCancel(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	c := newTestClient(t, s, Config{ProgressInterval: 5 * time.Millisecond})

	id := s.submitCallback(t, testReq{Value: "resumed"}, "http://127.0.0.1:9/unused", NewSecret())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Resume(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "resumed", res.Echo)

	blocked := s.submitCallback(t, testReq{Block: true}, "http://127.0.0.1:9/unused", NewSecret())
	require.NoError(t, c.Cancel(ctx, blocked))
	_, err = c.Resume(ctx, blocked)
	assert.True(t, isJobError(err, transport.CodeJobCanceled), "Resume of a canceled job: %v", err)

	_, err = c.Resume(ctx, jobs.NewID())
	assert.True(t, isJobError(err, transport.CodeNotFound), "Resume of an unknown job: %v", err)
}

func TestReceiverAnswers(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	c := newTestClient(t, s, Config{})
	base, err := c.URL()
	require.NoError(t, err)

	secret := NewSecret()
	call := c.Receiver().register(secret)
	defer c.Receiver().unregister(call)
	jobID := jobs.NewID()
	call.setJobID(jobID)
	callURL := callbackURL(base, call.token)

	finished := time.Now()
	body, err := json.Marshal(wire.Status{ID: jobID, State: jobs.StateSucceeded, Result: json.RawMessage(`{"echo":"r"}`), FinishedAt: &finished})
	require.NoError(t, err)
	running, err := json.Marshal(wire.Status{ID: jobID, State: jobs.StateRunning})
	require.NoError(t, err)
	otherJob, err := json.Marshal(wire.Status{ID: jobs.NewID(), State: jobs.StateSucceeded, Result: json.RawMessage(`{}`)})
	require.NoError(t, err)

	post := func(t *testing.T, target, signWith string, signed, sent []byte) int {
		t.Helper()
		st := struct {
			ID string `json:"id"`
		}{}
		require.NoError(t, json.Unmarshal(signed, &st))
		now := time.Now()
		sig, err := Sign(signWith, webhookID(st.ID), now, signed)
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(sent))
		require.NoError(t, err)
		req.Header.Set(HeaderWebhookID, webhookID(st.ID))
		req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(HeaderWebhookSignature, sig)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	tampered := bytes.Replace(body, []byte(`"r"`), []byte(`"R"`), 1)
	assert.Equal(t, http.StatusUnauthorized, post(t, callURL, secret, body, tampered), "tampered body")
	assert.Equal(t, http.StatusUnauthorized, post(t, callURL, NewSecret(), body, body), "wrong secret")
	assert.Equal(t, http.StatusGone, post(t, callbackURL(base, jobs.NewID()), secret, body, body), "unknown call")
	assert.Equal(t, http.StatusBadRequest, post(t, callURL, secret, running, running), "unfinished job")
	assert.Equal(t, http.StatusBadRequest, post(t, callURL, secret, otherJob, otherJob), "another job")
	select {
	case st := <-call.delivered:
		t.Fatalf("a rejected delivery reached the call: %+v", st)
	default:
	}

	assert.Equal(t, http.StatusOK, post(t, callURL, secret, body, body), "valid delivery")
	assert.Equal(t, http.StatusOK, post(t, callURL, secret, body, body), "repeated delivery")
	select {
	case st := <-call.delivered:
		assert.Equal(t, jobID, st.ID)
		assert.JSONEq(t, `{"echo":"r"}`, string(st.Result))
	default:
		t.Fatal("the valid delivery did not reach the call")
	}

	resp, err := http.Get(callURL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "GET on the receiver")
}

func TestReceiverMountedByUser(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})

	// The user's own server, whose address is known before the client exists.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	publicURL := "http://" + ln.Addr().String() + "/hooks/longhaul"
	c := newTestClient(t, s, Config{PublicURL: publicURL, FallbackPollInterval: slowFallback})

	mux := http.NewServeMux()
	mux.Handle("POST /hooks/longhaul", c.Receiver())
	srv := &http.Server{Handler: mux}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		<-served
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Do(ctx, testReq{Value: "mounted"})
	require.NoError(t, err)
	assert.Equal(t, "mounted", res.Echo)
}

func TestNewClientChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"wildcard listen without public URL", Config{Listen: ":0"}},
		{"unspecified listen without public URL", Config{Listen: "0.0.0.0:0"}},
		{"listen without port", Config{Listen: "127.0.0.1"}},
		{"relative public URL", Config{PublicURL: "/callbacks"}},
		{"public URL with user info", Config{PublicURL: "https://u:p@example.com/cb"}},
		{"public URL with reserved parameter", Config{PublicURL: "https://example.com/cb?" + callParam + "=x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient[testReq, testRes]("http://127.0.0.1:1", tt.cfg)
			assert.Error(t, err)
		})
	}

	_, err := NewClient[testReq, testRes]("not a url", Config{})
	assert.Error(t, err, "invalid base URL")
}

func TestCallbackURLKeepsQuery(t *testing.T) {
	assert.Equal(t, "https://h/cb?longhaul_call=t", callbackURL("https://h/cb", "t"))
	assert.Equal(t, "https://h/cb?a=1&longhaul_call=t", callbackURL("https://h/cb?a=1", "t"))
}

func TestClientErrorsAreNotWrappedTwice(t *testing.T) {
	// A server that is not there: the submit fails after the retries.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	c, err := NewClient[testReq, testRes](base, Config{Pipeline: transport.PipelineConfig{Retry: transport.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond}}})
	require.NoError(t, err)
	defer c.Close()

	_, err = c.Do(context.Background(), testReq{Value: "z"})
	assert.ErrorIs(t, err, transport.ErrUnavailable)
	assert.False(t, errors.Is(err, transport.ErrClosed), "unreachable is not closed")
}

// closedURL returns a callback URL on a loopback port where nothing listens,
// so every delivery to it is refused.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	u := "http://" + ln.Addr().String() + "/callbacks"
	require.NoError(t, ln.Close())
	return u
}

// shortenTimeout cuts the Longhaul-Timeout of a submit by 150 ms, so that
// the job passes its deadline before the caller's context does. The
// millisecond rounding of the header does the same by a smaller margin.
func shortenTimeout(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if v := r.Header.Get(wire.HeaderTimeout); r.Method == http.MethodPost && v != "" {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			r.Header.Set(wire.HeaderTimeout, strconv.FormatInt(max(ms-150, 1), 10))
		}
	}
	next.ServeHTTP(w, r)
}

func TestClientCallerDeadlineOverJobTimeout(t *testing.T) {
	tests := []struct {
		name    string
		deliver bool // the job's end arrives by delivery, else by a fallback read
	}{
		{"delivery", true},
		{"fallback read", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
			s.setFront(shortenTimeout)
			cfg := Config{FallbackPollInterval: slowFallback}
			if !tt.deliver {
				cfg = Config{PublicURL: closedURL(t), FallbackPollInterval: 20 * time.Millisecond}
			}
			c := newTestClient(t, s, cfg)

			ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
			defer cancel()
			var id string
			_, err := c.Do(ctx, testReq{Block: true}, transport.WithOnAccepted(func(j string) { id = j }))

			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.False(t, isJobError(err, transport.CodeJobTimeout), "got the job's timeout: %v", err)
			job := s.job(t, id)
			assert.Equal(t, jobs.StateFailed, job.State, "job state")
			require.NotNil(t, job.Problem, "job problem")
			assert.Equal(t, transport.CodeJobTimeout, job.Problem.Code, "job problem code")
			if tt.deliver {
				s.waitDelivery(t, id, jobs.DeliveryDelivered)
				assert.Zero(t, s.reads.Load(), "status reads")
			} else {
				assert.Positive(t, s.reads.Load(), "status reads")
			}
		})
	}
}

func TestClientReplayedSubmitLongPolls(t *testing.T) {
	tests := []struct {
		name        string
		stripHeader bool // the submit response lacks Idempotent-Replayed, so only the callback URL shows the replay
	}{
		{"replayed header", false},
		{"other callback URL", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
			if tt.stripHeader {
				s.setFront(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
					next.ServeHTTP(&headerDropper{ResponseWriter: w, name: headerReplayed}, r)
				})
			}

			// An earlier call, gone now, submitted the job under the key
			// with its own callback URL, where deliveries cannot arrive.
			req := testReq{Value: "again", Steps: 40}
			body, err := json.Marshal(req)
			require.NoError(t, err)
			code, answer := s.submit(t, string(body), map[string]string{
				wire.HeaderCallbackURL:    closedURL(t),
				wire.HeaderCallbackSecret: NewSecret(),
				wire.HeaderIdempotencyKey: "order-42",
			})
			require.Equal(t, http.StatusAccepted, code, "first submit: %s", answer)
			first, err := wire.DecodeStatus(answer)
			require.NoError(t, err)

			c := newTestClient(t, s, Config{FallbackPollInterval: slowFallback})
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			var id string
			start := time.Now()
			res, err := c.Do(ctx, req, transport.WithIdempotencyKey("order-42"), transport.WithOnAccepted(func(j string) { id = j }))
			took := time.Since(start)

			require.NoError(t, err)
			assert.Equal(t, "again", res.Echo)
			assert.Equal(t, first.ID, id, "job of the repeated call")
			assert.Less(t, took, 2*time.Second, "time of the repeated call")
			assert.Positive(t, s.waits.Load(), "long-polls")
		})
	}
}

func TestClientRetriedSubmitWaitsForDelivery(t *testing.T) {
	s := newTestServer(t, HandlerConfig{AllowPrivateCallbacks: true})
	var posts atomic.Int32
	s.setFront(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method == http.MethodPost && posts.Add(1) == 1 {
			// The job is created, but its response is lost, so the
			// client submits again and the server replays the job.
			next.ServeHTTP(httptest.NewRecorder(), r)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
	c := newTestClient(t, s, Config{FallbackPollInterval: slowFallback})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var id string
	res, err := c.Do(ctx, testReq{Value: "retried"}, transport.WithOnAccepted(func(j string) { id = j }))

	require.NoError(t, err)
	assert.Equal(t, "retried", res.Echo)
	assert.EqualValues(t, 2, posts.Load(), "submits")
	s.waitDelivery(t, id, jobs.DeliveryDelivered)
	assert.Zero(t, s.reads.Load(), "status reads")
}

// headerDropper removes one header from the response before it is written.
type headerDropper struct {
	http.ResponseWriter
	name string
}

func (h *headerDropper) WriteHeader(code int) {
	h.Header().Del(h.name)
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerDropper) Write(p []byte) (int, error) {
	h.Header().Del(h.name)
	return h.ResponseWriter.Write(p)
}

func TestSubmitCallReplayed(t *testing.T) {
	own := "http://127.0.0.1:1/callbacks?longhaul_call=a"
	other := "http://127.0.0.1:1/callbacks?longhaul_call=b"
	doc := func(url string) []byte {
		st := wire.Status{ID: jobs.NewID(), State: jobs.StateQueued}
		if url != "" {
			st.Callback = &wire.CallbackStatus{URL: url, State: jobs.DeliveryPending}
		}
		body, err := json.Marshal(st)
		require.NoError(t, err)
		return body
	}

	tests := []struct {
		name     string
		header   string
		body     []byte
		overflow bool
		want     bool
	}{
		{"own job", "", doc(own), false, false},
		{"own job replayed by a retry", "true", doc(own), false, false},
		{"other call's job", "", doc(other), false, true},
		{"other call's job with header", "true", doc(other), false, true},
		{"no callback URL", "", doc(""), false, false},
		{"no callback URL with header", "true", doc(""), false, true},
		{"body over the capture limit", "", nil, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &submitCall{url: own}
			header := http.Header{}
			if tt.header != "" {
				header.Set(headerReplayed, tt.header)
			}
			r := s.record(header)
			r.body, r.overflow = tt.body, tt.overflow
			assert.Equal(t, tt.want, s.replayed())
		})
	}
}

func TestCaptureBodyStopsAtLimit(t *testing.T) {
	r := &submitResponse{}
	body := &captureBody{ReadCloser: io.NopCloser(bytes.NewReader(make([]byte, maxSubmitCapture+1))), into: r}
	n, err := io.Copy(io.Discard, body)
	require.NoError(t, err)
	assert.EqualValues(t, maxSubmitCapture+1, n, "bytes passed on")
	assert.True(t, r.overflow, "overflow")
	assert.Nil(t, r.body, "captured body")
}
