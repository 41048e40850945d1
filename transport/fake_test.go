package transport

import (
	"context"
	"sync/atomic"
)

// fakeClient is an in-memory Client whose Do runs do and counts the calls.
// The wrappers under test are pure logic, so no network is needed behind them.
type fakeClient[Req, Res any] struct {
	do     func(ctx context.Context, req Req, opts CallOptions) (Res, error)
	calls  atomic.Int64
	closes atomic.Int64
}

var _ Client[int, int] = (*fakeClient[int, int])(nil)

func (f *fakeClient[Req, Res]) Do(ctx context.Context, req Req, opts ...CallOption) (Res, error) {
	f.calls.Add(1)
	return f.do(ctx, req, ApplyCallOptions(opts...))
}

func (f *fakeClient[Req, Res]) Close() error {
	f.closes.Add(1)
	return nil
}
