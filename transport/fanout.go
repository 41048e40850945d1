package transport

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"
)

const defaultFanOutLimit = 4

// FanOutConfig sets how FanOut splits a request and merges the results.
type FanOutConfig[Req, Res any] struct {
	// Split divides a request into parts that are sent as separate calls.
	// Required.
	Split func(Req) []Req

	// Merge combines the parts' results, which it receives in the order that
	// Split returned the parts. Required.
	Merge func([]Res) Res

	// Limit is the maximum number of parts in flight at once. Zero or negative
	// means the default. Defaults to 4.
	Limit int
}

// fanOutClient sends the parts of each request through an inner client.
type fanOutClient[Req, Res any] struct {
	inner Client[Req, Res]
	cfg   FanOutConfig[Req, Res]
}

var _ Client[int, int] = (*fanOutClient[int, int])(nil)

// FanOut returns a Client that splits each request with cfg.Split, sends the
// parts through c with at most cfg.Limit calls in flight, and merges their
// results with cfg.Merge. It panics if Split or Merge is nil.
//
// The first part that fails ends the call: Do cancels the parts still running,
// starts no more, and returns that part's error, never the cancellation of the
// others. The cancellation reaches the other parts as the end of their context,
// which neither Pipeline nor WithBreaker counts against a breaker. When Split
// returns no parts, Do sends the request unchanged as one call, so that the
// service validates it.
//
// Call options apply to every part, with these changes. OnProgress receives the
// sum of the parts' Done over the sum of their Total, one report at a time.
// The sum of Total grows as parts report theirs. An idempotency key K becomes
// K/0, K/1 and so on, one per part, so that the parts do not collide on the
// server. OnAccepted is called once per part with that part's job ID, one
// call at a time.
//
// Close closes c.
func FanOut[Req, Res any](c Client[Req, Res], cfg FanOutConfig[Req, Res]) Client[Req, Res] {
	if cfg.Split == nil || cfg.Merge == nil {
		panic("transport: FanOut needs both FanOutConfig.Split and FanOutConfig.Merge")
	}
	if cfg.Limit <= 0 {
		cfg.Limit = defaultFanOutLimit
	}
	return &fanOutClient[Req, Res]{inner: c, cfg: cfg}
}

// Do splits req, runs the parts and merges their results.
func (f *fanOutClient[Req, Res]) Do(ctx context.Context, req Req, opts ...CallOption) (Res, error) {
	parts := f.cfg.Split(req)
	if len(parts) == 0 {
		return f.inner.Do(ctx, req, opts...)
	}

	call := ApplyCallOptions(opts...)
	progress := newProgressSum(len(parts), call.OnProgress)
	onAccepted := serializeCalls(call.OnAccepted)
	results := make([]Res, len(parts))

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(f.cfg.Limit)
	started := 0
	for i, part := range parts {
		if gctx.Err() != nil {
			break // a part failed or the caller gave up: start no more
		}
		started++
		partOpts := slices.Clip(opts)
		if progress != nil {
			partOpts = append(partOpts, WithProgress(progress.reporter(i)))
		}
		if call.IdempotencyKey != "" {
			partOpts = append(partOpts, WithIdempotencyKey(call.IdempotencyKey+"/"+strconv.Itoa(i)))
		}
		if onAccepted != nil {
			partOpts = append(partOpts, WithOnAccepted(onAccepted))
		}

		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			res, err := f.inner.Do(gctx, part, partOpts...)
			if err != nil {
				return err
			}
			results[i] = res
			return nil
		})
	}

	var zero Res
	if err := g.Wait(); err != nil {
		return zero, err
	}
	if started < len(parts) {
		// The caller's context ended after the started parts had succeeded.
		return zero, fmt.Errorf("transport: fan-out stopped after %d of %d parts: %w", started, len(parts), ctx.Err())
	}
	return f.cfg.Merge(results), nil
}

// Close closes the inner client.
func (f *fanOutClient[Req, Res]) Close() error {
	return f.inner.Close()
}

// progressSum adds up the progress of a call's parts and reports the sum.
type progressSum struct {
	mu     sync.Mutex
	parts  []Progress
	report ProgressFunc
}

// newProgressSum returns a sum over n parts that reports to report, or nil when
// report is nil.
func newProgressSum(n int, report ProgressFunc) *progressSum {
	if report == nil {
		return nil
	}
	return &progressSum{parts: make([]Progress, n), report: report}
}

// reporter returns the ProgressFunc of part i.
func (s *progressSum) reporter(i int) ProgressFunc {
	return func(p Progress) {
		s.mu.Lock()
		defer s.mu.Unlock()

		s.parts[i] = p
		var sum Progress
		for _, part := range s.parts {
			sum.Done += part.Done
			sum.Total += part.Total
		}
		// Reporting under the lock keeps the sums in order for the caller.
		s.report(sum)
	}
}

// serializeCalls returns a function that calls f one call at a time, or nil when f is nil.
func serializeCalls(f func(jobID string)) func(jobID string) {
	if f == nil {
		return nil
	}
	var mu sync.Mutex
	return func(jobID string) {
		mu.Lock()
		defer mu.Unlock()
		f(jobID)
	}
}
