package lookup

import (
	"context"
	"fmt"
	"time"

	"github.com/longhaul-go/longhaul/transport"
)

// Engine is the stock lookup engine. It looks up each requested ID in Source,
// in request order, and reports progress after each one. Run only reads, so a
// job that runs twice returns the same result from an unchanged source. The
// zero value is ready to use, and an Engine is safe for concurrent use as
// long as its fields are not changed.
type Engine struct {
	// Source is the inventory to read. Defaults to DefaultDemo() when nil.
	Source Source

	// ItemDelay is the simulated work time per item, so that demos and tests can
	// imitate jobs of seconds to minutes. Defaults to 0, no delay.
	ItemDelay time.Duration
}

var _ transport.Engine[Request, Result] = (*Engine)(nil)

// Run validates req, then looks up each ID. It calls progress with Done 0 and
// Total the number of IDs before the first lookup, and again after each one.
// Run returns the same *transport.Problem as req.Validate for an invalid
// request, ctx.Err() once ctx ends (within the current item's delay, without
// waiting for it), and a wrapped error when the source fails.
//
// Items of a custom Source are normalised: ProductID is set to the requested
// ID and nil Locations become empty.
func (e *Engine) Run(ctx context.Context, req Request, progress transport.ProgressFunc) (Result, error) {
	if err := req.Validate(); err != nil {
		return Result{}, err
	}
	if progress == nil {
		progress = func(transport.Progress) {}
	}
	source := e.Source
	if source == nil {
		source = DefaultDemo()
	}

	var timer *time.Timer
	if e.ItemDelay > 0 {
		timer = time.NewTimer(e.ItemDelay)
		defer timer.Stop()
	}

	total := len(req.ProductIDs)
	items := make([]Item, 0, total)
	progress(transport.Progress{Done: 0, Total: total})

	for i, id := range req.ProductIDs {
		if err := e.wait(ctx, timer, i); err != nil {
			return Result{}, err
		}

		item, err := source.Lookup(ctx, id)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return Result{}, ctxErr
			}
			return Result{}, fmt.Errorf("lookup: failed to look up product %q: %w", id, err)
		}
		item.ProductID = id
		if item.Locations == nil {
			item.Locations = []Location{}
		}

		items = append(items, item)
		progress(transport.Progress{Done: i + 1, Total: total})
	}

	return Result{Items: items}, nil
}

// wait blocks for ItemDelay before item i, or returns ctx.Err() as soon as ctx
// ends. Without a delay it only checks ctx.
func (e *Engine) wait(ctx context.Context, timer *time.Timer, i int) error {
	if timer == nil {
		return ctx.Err()
	}

	// Since Go 1.23 Reset needs no drain: a stopped or fired timer's channel
	// holds no stale value.
	if i > 0 {
		timer.Reset(e.ItemDelay)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
