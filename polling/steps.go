package polling

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// Headers of the polling protocol that the wire package does not name.
const (
	// headerReplayed marks a submit response that returns the job an earlier
	// submit with the same Idempotency-Key created.
	headerReplayed = "Idempotent-Replayed"
	// headerPreferenceApplied reports the wait that the server applied
	// (RFC 7240).
	headerPreferenceApplied = "Preference-Applied"

	acceptStatus = wire.ContentTypeJSON + ", " + wire.ContentTypeProblem
)

// Operation names of the network steps, as the pipeline reports them.
const (
	opSubmit = "submit"
	opPoll   = "poll"
	opCancel = "cancel"
)

// submit sends req under the idempotency key (a random one when key is empty)
// and returns the job's status document and ETag from the 202 response. Every
// retry sends the same key, so a retried submit returns the job that the first
// attempt created.
func (c *Client[Req, Res]) submit(ctx context.Context, req Req, key string) (*wire.Status, string, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, "", fmt.Errorf("encode request as JSON: %w", err)
	}
	if key == "" {
		key = jobs.NewID()
	} else if p := wire.ValidateIdempotencyKey(key); p != nil {
		return nil, "", &transport.JobError{Problem: *p}
	}
	// The caller's deadline, not an attempt's, travels with the request.
	deadline, hasDeadline := ctx.Deadline()

	var st *wire.Status
	var etag string
	err = c.pipeline.Do(ctx, opSubmit, c.target, func(ctx context.Context) error {
		httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.jobsURL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		httpReq.Header.Set("Content-Type", wire.ContentTypeJSON)
		httpReq.Header.Set("Accept", acceptStatus)
		httpReq.Header.Set(wire.HeaderIdempotencyKey, key)
		if hasDeadline {
			httpReq.Header.Set(wire.HeaderTimeout, wire.FormatTimeout(time.Until(deadline)))
		}

		resp, release, err := c.send(httpReq, 0)
		if err != nil {
			return err
		}
		defer release()

		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return responseError(resp, "")
		}
		got, err := readStatus(resp, "")
		if err != nil {
			return err
		}
		st, etag = got, resp.Header.Get("ETag")
		c.log.Debug("job submitted", "job_id", got.ID, "replayed", resp.Header.Get(headerReplayed) == "true")
		return nil
	})
	return st, etag, err
}

// poll reads the status of the job through pipeline. With a non-empty etag
// and a positive wait, the server holds the request until the job's ETag
// differs from etag or the wait passes. poll returns a nil status when the
// server responded with 304 Not Modified, a *transport.JobError with code
// not-found for 404, and a *longPollCutError, without retries, for a
// long-poll that the network cut while the server held it.
func (c *Client[Req, Res]) poll(ctx context.Context, pipeline *transport.Pipeline, jobID, etag string, wait time.Duration) (*wire.Status, string, error) {
	var st *wire.Status
	var nextETag string
	err := pipeline.Do(ctx, opPoll, c.target, func(ctx context.Context) error {
		httpReq, err := http.NewRequestWithContext(ctx, http.MethodGet, c.jobURL(jobID), nil)
		if err != nil {
			return err
		}
		httpReq.Header.Set("Accept", acceptStatus)
		if etag != "" {
			httpReq.Header.Set("If-None-Match", etag)
		}
		if wait > 0 {
			httpReq.Header.Set("Prefer", "wait="+formatSeconds(wait))
		}

		start := time.Now()
		resp, release, err := c.send(httpReq, wait)
		if err != nil {
			if open := time.Since(start); c.cutWhileWaiting(ctx, err, wait, open) {
				return &longPollCutError{wait: wait, open: open, err: err.Error()}
			}
			return err
		}
		defer release()

		switch {
		case resp.StatusCode == http.StatusNotModified:
			st, nextETag = nil, etag
			return nil
		case resp.StatusCode < 200 || resp.StatusCode > 299:
			return responseError(resp, jobID)
		}
		got, err := readStatus(resp, jobID)
		if err != nil {
			return err
		}
		st, nextETag = got, resp.Header.Get("ETag")
		return nil
	})
	return st, nextETag, err
}

// deleteJob sends DELETE for the job, which cancels it on the server.
func (c *Client[Req, Res]) deleteJob(ctx context.Context, jobID string) error {
	return c.pipeline.Do(ctx, opCancel, c.target, func(ctx context.Context) error {
		httpReq, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.jobURL(jobID), nil)
		if err != nil {
			return err
		}
		httpReq.Header.Set("Accept", acceptStatus)

		resp, release, err := c.send(httpReq, 0)
		if err != nil {
			return err
		}
		defer release()

		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return responseError(resp, jobID)
		}
		// Read the body to its end so that the connection can be reused.
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxStatusBytes))
		return err
	})
}

// send sends req and returns its response, whose body the caller must read
// before it calls release. A request that makes no progress for
// c.stallTimeout fails with an error that matches transport.ErrAttemptTimeout,
// which the pipeline retries. Progress is the response headers, which may
// take wait longer for a long-poll, and then every read of the body. So a
// connection that a network black-holes does not hang the call, while a large
// result on a slow link still arrives.
func (c *Client[Req, Res]) send(req *http.Request, wait time.Duration) (*http.Response, func(), error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(wait+c.stallTimeout, func() { cancel(errStalled) })
	stop := func() {
		timer.Stop()
		cancel(nil)
	}
	stalled := func(err error) error {
		if !errors.Is(context.Cause(ctx), errStalled) {
			return err
		}
		return fmt.Errorf("%w: %s %s sent no data for %v: %v", transport.ErrAttemptTimeout, req.Method, req.URL.Redacted(), c.stallTimeout, err)
	}

	resp, err := c.http.Do(req.WithContext(ctx))
	if err != nil {
		stop()
		return nil, nil, stalled(err)
	}
	timer.Reset(c.stallTimeout)
	body := resp.Body
	resp.Body = &guardedBody{ReadCloser: body, timer: timer, timeout: c.stallTimeout, stalled: stalled}
	release := func() {
		body.Close()
		stop()
	}
	return resp, release, nil
}

// errStalled is the cause of a request that send cancels for lack of progress.
var errStalled = errors.New("polling: request stalled")

// guardedBody is a response body that restarts its stall timer on every read
// that returns data.
type guardedBody struct {
	io.ReadCloser
	timer   *time.Timer
	timeout time.Duration
	stalled func(error) error
}

func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.timer.Reset(b.timeout)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = b.stalled(err)
	}
	return n, err
}

func (c *Client[Req, Res]) jobURL(jobID string) string {
	return c.jobsURL + "/" + url.PathEscape(jobID)
}

// responseError returns the error of a response that is not 2xx: a retryable
// error with the server's Retry-After for 429, 502, 503 and 504, and a
// *transport.JobError with the server's problem details otherwise.
func responseError(resp *http.Response, jobID string) error {
	p := wire.ReadProblem(resp)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		err := fmt.Errorf("server responded with %s: %w", resp.Status, p)
		return transport.MarkRetryable(err, wire.RetryAfter(resp.Header, time.Now()))
	}
	return &transport.JobError{JobID: jobID, Problem: *p}
}

// readStatus reads and checks the status document of a 2xx response. jobID,
// when not empty, is the job that the document must describe. A body that is
// cut off returns the read error, which the pipeline retries. A complete body
// that is not a valid status document returns a *transport.JobError, because a
// second request would return the same.
func readStatus(resp *http.Response, jobID string) (*wire.Status, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatusBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxStatusBytes {
		return nil, invalidStatus(resp.StatusCode, jobID, fmt.Errorf("status document is over the limit of %d bytes", maxStatusBytes))
	}

	st, err := decodeStatus(body, jobID)
	if err != nil {
		return nil, invalidStatus(resp.StatusCode, jobID, err)
	}
	return st, nil
}

// decodeStatus parses a status document and, when jobID is not empty, checks
// that it describes that job.
func decodeStatus(body []byte, jobID string) (*wire.Status, error) {
	st, err := wire.DecodeStatus(body)
	if err != nil {
		return nil, err
	}
	if jobID != "" && st.ID != jobID {
		return nil, fmt.Errorf("status is of job %s, not of the requested job %s", st.ID, jobID)
	}
	return st, nil
}

func invalidStatus(status int, jobID string, err error) error {
	p := transport.NewProblem(status, transport.CodeInternal,
		"server sent an invalid job status: %v; check that the base URL points at a longhaul polling server", err)
	p.JobID = jobID
	return &transport.JobError{JobID: jobID, Problem: *p}
}

// outcome returns the result of a finished job, decoded into Res, or the
// *transport.JobError of a failed or canceled one.
func outcome[Res any](st *wire.Status) (Res, error) {
	var zero Res
	switch st.State {
	case jobs.StateSucceeded:
		var res Res
		if err := json.Unmarshal(st.Result, &res); err != nil {
			return zero, fmt.Errorf("decode result of job %s: %w", st.ID, err)
		}
		return res, nil
	case jobs.StateFailed:
		return zero, &transport.JobError{JobID: st.ID, Problem: *transport.AsProblem(st.Problem)}
	}

	p := st.Problem
	if p == nil {
		p = transport.NewProblem(http.StatusConflict, transport.CodeJobCanceled, "job %s was canceled before it finished", st.ID)
		p.JobID = st.ID
	}
	return zero, &transport.JobError{JobID: st.ID, Problem: *transport.AsProblem(p)}
}

// formatSeconds formats d as a number of seconds for Prefer: wait, with a
// fraction only when d is not a whole number of seconds.
func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}
