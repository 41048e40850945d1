package transport

import "time"

// CallOption sets an option of one call to Client.Do.
type CallOption func(*CallOptions)

// CallOptions is the set of options of one call. Clients build it with
// ApplyCallOptions, and applications set it through the With... functions.
type CallOptions struct {
	// Strategy is the strategy a combined client uses for this call.
	// Empty means the client's default or its policy. Single-strategy clients ignore it.
	Strategy Strategy

	// OnProgress receives the job's progress when the strategy can carry it
	// (polling, callback through its status polls, and websocket). Nil means no reports.
	OnProgress ProgressFunc

	// IdempotencyKey identifies the call on the server, so that a retried submit
	// returns the job that the first attempt created. Empty means the client
	// generates a random key per call.
	IdempotencyKey string

	// OnAccepted is called once with the job ID when the server has accepted
	// the job, before its result arrives. Nil means no call. Simple calls have no
	// job ID and never call it.
	OnAccepted func(jobID string)

	// PollInterval overrides the client's interval between status requests for
	// this call. Zero means the client's setting.
	PollInterval time.Duration
}

// ApplyCallOptions returns the options that opts set, in order.
func ApplyCallOptions(opts ...CallOption) CallOptions {
	var o CallOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// WithStrategy chooses the strategy of one call on a combined client.
func WithStrategy(s Strategy) CallOption {
	return func(o *CallOptions) { o.Strategy = s }
}

// WithProgress sets f to receive the job's progress reports.
func WithProgress(f ProgressFunc) CallOption {
	return func(o *CallOptions) { o.OnProgress = f }
}

// WithIdempotencyKey sets the key under which the server deduplicates the submit.
// Use it to make a call that the application itself repeats, for example after
// a process restart, find the job of the first attempt.
func WithIdempotencyKey(key string) CallOption {
	return func(o *CallOptions) { o.IdempotencyKey = key }
}

// WithOnAccepted registers f to receive the job ID once the server accepts the job.
// An application that stores the ID can resume the job after a restart.
func WithOnAccepted(f func(jobID string)) CallOption {
	return func(o *CallOptions) { o.OnAccepted = f }
}

// WithPollInterval sets the interval between status requests of one call.
func WithPollInterval(d time.Duration) CallOption {
	return func(o *CallOptions) { o.PollInterval = d }
}
