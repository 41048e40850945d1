package callback

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// Defaults of the delivery settings in HandlerConfig.
const (
	defaultMinBackoff       = time.Second
	defaultMaxBackoff       = time.Hour
	defaultGiveUpAfter      = 25 * time.Hour
	defaultDeliveryTimeout  = 10 * time.Second
	defaultConcurrency      = 8
	defaultDispatchInterval = time.Second

	// maxResponseBytes is how much of a receiver's response a delivery reads.
	maxResponseBytes = 4 << 10
	// recordTimeout bounds the store writes that record an attempt, which run on
	// their own context so that a shutdown cannot cancel them.
	recordTimeout = 5 * time.Second
	// userAgent is sent with every delivery.
	userAgent = "longhaul-callback/1"
	// maxScheduledRetries caps how many retry times the dispatcher keeps to
	// wake when each comes due. A retry beyond the cap waits for the next
	// DispatchInterval.
	maxScheduledRetries = 4096
)

// RetrySchedule sets when a failed delivery is tried again and when the
// server gives it up.
type RetrySchedule struct {
	// MinBackoff is the ceiling of the wait after the first failed attempt. The
	// ceiling doubles after every further failure up to MaxBackoff, and each
	// wait is drawn uniformly below it (full jitter). Defaults to 1 s.
	MinBackoff time.Duration

	// MaxBackoff caps the ceiling of the wait between two attempts.
	// Defaults to 1 h.
	MaxBackoff time.Duration

	// GiveUpAfter is how long after the job finished the server keeps trying.
	// The last attempt happens at that time at the latest; when it fails, the
	// delivery is dead-lettered and the result stays readable by ID.
	// Defaults to 25 h.
	GiveUpAfter time.Duration
}

func (s RetrySchedule) withDefaults() RetrySchedule {
	if s.MinBackoff <= 0 {
		s.MinBackoff = defaultMinBackoff
	}
	if s.MaxBackoff <= 0 {
		s.MaxBackoff = defaultMaxBackoff
	}
	s.MaxBackoff = max(s.MaxBackoff, s.MinBackoff)
	if s.GiveUpAfter <= 0 {
		s.GiveUpAfter = defaultGiveUpAfter
	}
	return s
}

// backoff returns the wait after failed attempt number attempt, counted from 1.
func (s RetrySchedule) backoff(attempt int) time.Duration {
	policy := transport.RetryPolicy{BaseDelay: s.MinBackoff, MaxDelay: s.MaxBackoff}
	return policy.Backoff(attempt-1, nil)
}

// DeliveryInfo describes one delivery attempt, for HandlerConfig.OnDelivery.
type DeliveryInfo struct {
	JobID       string
	Attempt     int                // the attempt's number, from 1
	StatusCode  int                // the status code of the receiver's response, 0 when none arrived
	Err         error              // the attempt's error, nil when it succeeded
	Duration    time.Duration      // how long the attempt took
	State       jobs.DeliveryState // the delivery's state after the attempt
	NextAttempt time.Time          // when the next attempt is due, zero when none follows
}

// attemptResult is the end of one delivery attempt.
type attemptResult int

const (
	attemptFailed    attemptResult = iota // retry later, unless the schedule is spent
	attemptDelivered                      // the receiver responded 2xx
	attemptDead                           // stop at once: 410 Gone, a forbidden address, or an unusable stored callback
)

// errNotDue means a delivery was delivered, dead, or claimed by another
// dispatcher between the store's listing and the claim.
var errNotDue = errors.New("callback: delivery is not due")

// dispatcher sends the results of finished callback jobs and keeps retrying
// from the store until each is delivered or dead.
type dispatcher struct {
	rt          *jobs.Runtime
	store       jobs.Store
	client      *http.Client
	ownClient   bool // client was built here, so its idle connections are closed at shutdown
	schedule    RetrySchedule
	timeout     time.Duration
	interval    time.Duration
	concurrency int
	logger      *slog.Logger
	onDelivery  func(DeliveryInfo)

	wake     chan struct{} // buffered: a job finished or a slot came free
	stop     chan struct{} // closed when shutdown starts
	loopDone chan struct{} // closed when run returns
	slots    chan struct{} // one token per delivery in flight
	stopOnce sync.Once

	mu       sync.Mutex
	inFlight map[string]context.CancelFunc // job ID -> the cancel func of its delivery's context
	wg       sync.WaitGroup                // deliveries in flight

	retryMu sync.Mutex
	retries retryTimes // when the retries that this dispatcher scheduled come due
}

func newDispatcher(rt *jobs.Runtime, cfg HandlerConfig, logger *slog.Logger) *dispatcher {
	client, own := deliveryClient(cfg)
	d := &dispatcher{
		rt:          rt,
		store:       rt.Store(),
		client:      client,
		ownClient:   own,
		schedule:    cfg.Retry.withDefaults(),
		timeout:     positiveOr(cfg.DeliveryTimeout, defaultDeliveryTimeout),
		interval:    positiveOr(cfg.DispatchInterval, defaultDispatchInterval),
		concurrency: cfg.MaxConcurrentDeliveries,
		logger:      logger,
		onDelivery:  cfg.OnDelivery,
		wake:        make(chan struct{}, 1),
		stop:        make(chan struct{}),
		loopDone:    make(chan struct{}),
		inFlight:    make(map[string]context.CancelFunc),
	}
	if d.concurrency <= 0 {
		d.concurrency = defaultConcurrency
	}
	d.slots = make(chan struct{}, d.concurrency)

	rt.OnFinish(func(job *jobs.Job) {
		if job.Callback != nil {
			d.signal()
		}
	})
	go d.run()
	return d
}

// deliveryClient returns the client that sends deliveries and whether it was
// built here. A caller's client is copied with redirects turned off.
func deliveryClient(cfg HandlerConfig) (*http.Client, bool) {
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		c.CheckRedirect = noRedirect
		return &c, false
	}

	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivateCallbacks {
		dialer.Control = DialControl
	}
	t := &http.Transport{
		// No Proxy: a proxy would connect to the callback's host in our place,
		// out of reach of the dialer's address check.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t, CheckRedirect: noRedirect}, true
}

// noRedirect makes the client return a redirect as the response, which the
// dispatcher counts as a failed attempt.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// signal wakes the dispatch loop without blocking.
func (d *dispatcher) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run reads due deliveries from the store whenever a job finishes, a delivery
// ends, a retry that this dispatcher scheduled comes due, or the interval
// passes, until shutdown.
func (d *dispatcher) run() {
	defer close(d.loopDone)
	timer := time.NewTimer(d.interval)
	defer timer.Stop()

	// ctx ends when shutdown starts, so that a slow store listing does not
	// hold shutdown up.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-d.stop:
			cancel()
		case <-ctx.Done():
		}
	}()

	for {
		listed := d.dispatchDue(ctx)
		timer.Reset(d.nextWait(listed))
		select {
		case <-d.stop:
			return
		case <-d.wake:
		case <-timer.C:
		}
	}
}

// dispatchDue starts a delivery for each due job, at most concurrency at once.
// It returns the time up to which it listed the due deliveries.
func (d *dispatcher) dispatchDue(ctx context.Context) time.Time {
	now := d.rt.Now()
	due, err := d.store.DueDeliveries(ctx, now, 4*d.concurrency)
	if err != nil {
		if ctx.Err() == nil {
			d.logger.Error("list due callback deliveries failed", "error", err)
		}
		return now
	}

	for _, job := range due {
		deliveryCtx, ok := d.markInFlight(job.ID)
		if !ok {
			continue
		}
		select {
		case d.slots <- struct{}{}:
		case <-d.stop:
			d.unmarkInFlight(job.ID)
			return now
		}

		d.wg.Add(1)
		go func(id string) {
			defer d.wg.Done()
			defer d.signal()
			defer func() { <-d.slots }()
			defer d.unmarkInFlight(id)
			d.deliver(deliveryCtx, id)
		}(job.ID)
	}
	return now
}

// scheduleRetry records that a retry comes due at the given time, so that
// the dispatch loop wakes then rather than at its next interval.
func (d *dispatcher) scheduleRetry(at time.Time) {
	d.retryMu.Lock()
	defer d.retryMu.Unlock()
	if len(d.retries) < maxScheduledRetries {
		heap.Push(&d.retries, at)
	}
}

// nextWait returns how long the dispatch loop sleeps after a listing of the
// deliveries due up to listed: until the earliest retry that comes due after
// listed, but at most the interval. Retries due by listed were in that
// listing and are forgotten. One that the listing did not start, because it
// was full or the delivery was in flight, starts when a delivery ends.
func (d *dispatcher) nextWait(listed time.Time) time.Duration {
	d.retryMu.Lock()
	defer d.retryMu.Unlock()
	for len(d.retries) > 0 && !d.retries[0].After(listed) {
		heap.Pop(&d.retries)
	}
	if len(d.retries) == 0 {
		return d.interval
	}
	return max(0, min(d.interval, d.retries[0].Sub(d.rt.Now())))
}

// retryTimes is a min-heap of the times at which retries come due.
type retryTimes []time.Time

func (h retryTimes) Len() int           { return len(h) }
func (h retryTimes) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h retryTimes) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *retryTimes) Push(x any)        { *h = append(*h, x.(time.Time)) }

func (h *retryTimes) Pop() any {
	old := *h
	last := old[len(old)-1]
	*h = old[:len(old)-1]
	return last
}

// markInFlight records a delivery of the job as in flight and returns its
// context, which shutdown cancels. It reports false when the job's delivery
// is in flight already.
func (d *dispatcher) markInFlight(id string) (context.Context, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()

	if _, ok := d.inFlight[id]; ok {
		return nil, false
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.inFlight[id] = cancel
	return ctx, true
}

// unmarkInFlight cancels the job's delivery context and removes the job from
// the in-flight map.
func (d *dispatcher) unmarkInFlight(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()

	if cancel, ok := d.inFlight[id]; ok {
		cancel()
		delete(d.inFlight, id)
	}
}

// cancelInFlight cancels the context of every delivery in flight.
func (d *dispatcher) cancelInFlight() {
	d.mu.Lock()
	defer d.mu.Unlock()

	for _, cancel := range d.inFlight {
		cancel()
	}
}

// deliver makes one attempt to deliver the job's result and records it. When
// ctx ends during the attempt, the delivery becomes due again uncounted.
func (d *dispatcher) deliver(ctx context.Context, id string) {
	job, err := d.claim(id)
	if errors.Is(err, errNotDue) || errors.Is(err, jobs.ErrNotFound) {
		return
	}
	if err != nil {
		d.logger.Error("claim callback delivery failed", "job_id", id, "error", err)
		return
	}

	start := time.Now()
	status, result, attemptErr := d.send(ctx, job)
	took := time.Since(start)

	if ctx.Err() != nil {
		// The dispatcher is stopping, so the attempt is not counted against the receiver.
		d.release(id)
		return
	}
	d.record(job, status, result, attemptErr, took)
}

// claim marks a due delivery as in progress by moving its NextAttempt past the
// attempt's timeout. So no other dispatcher on the same store sends it at the
// same time, and a crash during the attempt leads to a retry.
func (d *dispatcher) claim(id string) (*jobs.Job, error) {
	now := d.rt.Now()
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()

	return d.store.Update(ctx, id, func(j *jobs.Job) error {
		cb := j.Callback
		if cb == nil || cb.State != jobs.DeliveryPending || !j.State.Finished() || cb.NextAttempt.After(now) {
			return errNotDue
		}
		cb.NextAttempt = now.Add(2 * d.timeout)
		return nil
	})
}

// release makes a claimed delivery due again without counting an attempt.
func (d *dispatcher) release(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()

	now := d.rt.Now()
	_, err := d.store.Update(ctx, id, func(j *jobs.Job) error {
		if j.Callback == nil || j.Callback.State != jobs.DeliveryPending {
			return errNotDue
		}
		j.Callback.NextAttempt = now
		return nil
	})
	if err != nil && !errors.Is(err, errNotDue) {
		d.logger.Warn("release callback delivery at shutdown failed", "job_id", id, "error", err)
	}
}

// send POSTs the job's status document to its callback URL, signed for this
// attempt, and returns the response's status code and how the attempt ended.
func (d *dispatcher) send(ctx context.Context, job *jobs.Job) (int, attemptResult, error) {
	body, err := json.Marshal(wire.StatusOf(job))
	if err != nil {
		return 0, attemptDead, fmt.Errorf("encode the job's status: %w", err)
	}
	cb := job.Callback
	timestamp := d.rt.Now().Unix()
	signature, err := Sign(cb.Secret, webhookID(job.ID), time.Unix(timestamp, 0), body)
	if err != nil {
		return 0, attemptDead, fmt.Errorf("sign the delivery: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cb.URL, bytes.NewReader(body))
	if err != nil {
		return 0, attemptDead, fmt.Errorf("build the request to the stored callback URL: %w", err)
	}
	req.Header.Set("Content-Type", wire.ContentTypeJSON)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderWebhookID, webhookID(job.ID))
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(timestamp, 10))
	req.Header.Set(HeaderWebhookSignature, signature)

	resp, err := d.client.Do(req)
	if err != nil {
		return 0, classifyNetworkError(err), describeNetworkError(err, d.timeout)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))

	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return resp.StatusCode, attemptDelivered, nil
	case resp.StatusCode == http.StatusGone:
		return resp.StatusCode, attemptDead, fmt.Errorf("receiver responded %s: it wants no more deliveries of this result", resp.Status)
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		return resp.StatusCode, attemptFailed, fmt.Errorf("receiver responded %s: redirects are not followed, so give the final URL as the callback URL", resp.Status)
	}
	err = fmt.Errorf("receiver responded %s", resp.Status)
	if wait := wire.RetryAfter(resp.Header, d.rt.Now()); wait > 0 {
		err = transport.MarkRetryable(err, wait)
	}
	return resp.StatusCode, attemptFailed, err
}

// webhookID returns the delivery's webhook-id, the same on every attempt.
func webhookID(jobID string) string { return "msg_" + jobID }

// classifyNetworkError returns attemptDead for a connection the dialer
// refused because of its address, which no retry can change, and
// attemptFailed for anything else.
func classifyNetworkError(err error) attemptResult {
	if errors.Is(err, ErrForbiddenAddress) {
		return attemptDead
	}
	return attemptFailed
}

// describeNetworkError returns err without the *url.Error wrapper, whose
// text repeats the callback URL, and names a timeout as such.
func describeNetworkError(err error, timeout time.Duration) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("receiver timed out: no response within the delivery timeout of %v: %w", timeout, err)
	}
	return err
}

// record stores the end of one attempt and reports it.
func (d *dispatcher) record(job *jobs.Job, status int, result attemptResult, attemptErr error, took time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()

	now := d.rt.Now()
	retention := d.rt.Retention()
	stored, err := d.store.Update(ctx, job.ID, func(j *jobs.Job) error {
		cb := j.Callback
		if cb == nil || cb.State != jobs.DeliveryPending {
			return errNotDue
		}
		d.apply(j, now, result, attemptErr)
		keepUntil := now.Add(retention)
		if cb.State == jobs.DeliveryPending {
			keepUntil = cb.NextAttempt.Add(retention)
		}
		if j.ExpiresAt.Before(keepUntil) {
			j.ExpiresAt = keepUntil
		}
		return nil
	})
	if errors.Is(err, errNotDue) || errors.Is(err, jobs.ErrNotFound) {
		return
	}
	if err != nil {
		d.logger.Error("store callback delivery attempt failed", "job_id", job.ID, "error", err)
		return
	}

	cb := stored.Callback
	if cb.State == jobs.DeliveryPending {
		d.scheduleRetry(cb.NextAttempt)
	}
	d.log(stored, status, attemptErr)
	if d.onDelivery != nil {
		info := DeliveryInfo{
			JobID: stored.ID, Attempt: cb.Attempts, StatusCode: status, Err: attemptErr,
			Duration: took, State: cb.State,
		}
		if cb.State == jobs.DeliveryPending {
			info.NextAttempt = cb.NextAttempt
		}
		d.onDelivery(info)
	}
}

// apply records one attempt's outcome in j's callback: delivered, dead, or
// pending with the time of the next attempt.
func (d *dispatcher) apply(j *jobs.Job, now time.Time, result attemptResult, attemptErr error) {
	cb := j.Callback
	cb.Attempts++

	switch result {
	case attemptDelivered:
		cb.State = jobs.DeliveryDelivered
		cb.DeliveredAt = now
		cb.NextAttempt = time.Time{}
		cb.LastError = ""
		return
	case attemptDead:
		cb.State = jobs.DeliveryDead
		cb.NextAttempt = time.Time{}
		cb.LastError = attemptErr.Error()
		return
	}

	cb.LastError = attemptErr.Error()
	giveUpAt := j.FinishedAt.Add(d.schedule.GiveUpAfter)
	if !now.Before(giveUpAt) {
		cb.State = jobs.DeliveryDead
		cb.NextAttempt = time.Time{}
		cb.LastError = fmt.Sprintf("gave up after %d attempts over %v: %s",
			cb.Attempts, d.schedule.GiveUpAfter, cb.LastError)
		return
	}

	wait := d.schedule.backoff(cb.Attempts)
	var retryable *transport.RetryableError
	if errors.As(attemptErr, &retryable) {
		wait = max(wait, min(retryable.RetryAfter, d.schedule.MaxBackoff))
	}
	cb.NextAttempt = now.Add(wait)
	if cb.NextAttempt.After(giveUpAt) {
		cb.NextAttempt = giveUpAt
	}
}

// log writes the line of one recorded attempt. A 410 Gone is logged at Info,
// because a receiver returns it once its client has stopped waiting for the
// call, which is no failure of the delivery.
func (d *dispatcher) log(job *jobs.Job, status int, attemptErr error) {
	cb := job.Callback
	switch {
	case cb.State == jobs.DeliveryDelivered:
		d.logger.Info("callback delivered", "job_id", job.ID, "attempts", cb.Attempts)
	case cb.State == jobs.DeliveryDead && status == http.StatusGone:
		d.logger.Info("callback delivery stopped: the receiver responded 410 Gone, so it no longer wants the result",
			"job_id", job.ID, "attempts", cb.Attempts)
	case cb.State == jobs.DeliveryDead:
		d.logger.Error("callback delivery dead-lettered; the result stays readable by ID",
			"job_id", job.ID, "attempts", cb.Attempts, "error", cb.LastError)
	default:
		d.logger.Warn("callback delivery failed; will retry",
			"job_id", job.ID, "attempt", cb.Attempts, "next_attempt", cb.NextAttempt, "error", attemptErr)
	}
}

// shutdown stops the dispatch loop, waits for deliveries in flight until ctx
// ends, then cancels the rest and waits for them to return.
func (d *dispatcher) shutdown(ctx context.Context) error {
	d.stopOnce.Do(func() { close(d.stop) })
	<-d.loopDone

	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()

	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	// The dispatch loop has returned, so no delivery starts after this.
	d.cancelInFlight()
	<-done

	if d.ownClient {
		d.client.CloseIdleConnections()
	}
	return err
}

func positiveOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
