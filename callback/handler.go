package callback

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/polling"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// MaxCallbackURLBytes is the longest accepted callback URL, in bytes.
const MaxCallbackURLBytes = 2048

// HandlerConfig configures a Handler. The zero value is usable.
type HandlerConfig struct {
	// BasePath is the path under which the handler serves {BasePath}/jobs,
	// such as "/api". Defaults to "", the root.
	BasePath string

	// MaxBodyBytes limits the size of a submitted request body. Zero or
	// negative means the default. Defaults to 1 MiB.
	MaxBodyBytes int64

	// Authorize returns the owner of each request. Jobs are scoped to their
	// owner: another owner's status request or cancel gets 404. Nil means every
	// request has the empty owner. Defaults to nil.
	Authorize transport.AuthorizeFunc

	// Logger receives a line for every submit, delivery attempt and failed
	// request, with the job_id. It never receives a callback's secret. Nil
	// means silent. Defaults to nil.
	Logger *slog.Logger

	// MaxWait caps the wait of a long-poll on GET {base}/jobs/{id}. Defaults to
	// 30 s.
	MaxWait time.Duration

	// AllowPrivateCallbacks lets deliveries reach loopback, private,
	// link-local and the other addresses that CheckAddress refuses. Turn it on
	// only when the clients are trusted and sit on the same private network,
	// or in tests. It has no effect on a caller's HTTPClient, which does its
	// own checks. Defaults to false.
	AllowPrivateCallbacks bool

	// Retry sets when failed deliveries are retried and when they are given
	// up. Its fields document their defaults: waits of 1 s growing to 1 h, for
	// 25 h after the job finished.
	Retry RetrySchedule

	// DeliveryTimeout bounds each delivery attempt, from the dial to the end of
	// the response's headers and the first 4 KiB of its body. Defaults to 10 s.
	DeliveryTimeout time.Duration

	// MaxConcurrentDeliveries is how many deliveries this handler sends at
	// once. Defaults to 8.
	MaxConcurrentDeliveries int

	// DispatchInterval is how often the dispatcher reads the store for
	// deliveries that have come due, besides when a job of this process
	// finishes, a delivery ends, or a retry that this dispatcher scheduled
	// comes due. So it bounds the delay of deliveries that another process
	// on the same store scheduled. This dispatcher's retries start on time
	// while at most 4096 of them wait at once. Further ones start at the
	// next interval. Defaults to 1 s.
	DispatchInterval time.Duration

	// HTTPClient sends the deliveries. The handler uses a copy whose
	// CheckRedirect stops at the first response. Nil means a client of the
	// handler's own, without a proxy, whose dialer refuses forbidden addresses
	// (see CheckAddress) unless AllowPrivateCallbacks is set. A caller's client
	// keeps its transport, so it must do its own address checks: give its
	// net.Dialer the Control function DialControl and no proxy.
	// Defaults to nil.
	HTTPClient *http.Client

	// OnDelivery is called after every delivery attempt that was recorded,
	// from the goroutine that made it. It must be fast and must not block.
	// Defaults to nil.
	OnDelivery func(DeliveryInfo)
}

// Handler serves the callback protocol over a jobs.Runtime and delivers the
// results of its callback jobs:
//
//	POST   {base}/jobs       submit with Longhaul-Callback-Url and Longhaul-Callback-Secret: 202 Accepted
//	GET    {base}/jobs/{id}  the job's status, with long-poll, as the polling handler
//	DELETE {base}/jobs/{id}  cancel the job
//
// The routes are those of a polling.Handler, which Handler embeds, with a
// submit that requires the callback headers. A dispatcher sends each finished
// callback job's status document to its URL and retries until it is delivered
// or dead. Call Shutdown or Close to stop it. Mount a Handler with
// mux.Handle(base+"/", h), or serve it directly.
type Handler struct {
	*polling.Handler

	rt           *jobs.Runtime
	allowPrivate bool
	dispatcher   *dispatcher
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns a handler that runs the submitted jobs on rt and starts
// the dispatcher that delivers their results. It panics when rt is nil or
// cfg.BasePath is invalid, as polling.NewHandler does.
func NewHandler(rt *jobs.Runtime, cfg HandlerConfig) *Handler {
	if rt == nil {
		panic("callback: NewHandler needs a jobs.Runtime, got nil")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	h := &Handler{rt: rt, allowPrivate: cfg.AllowPrivateCallbacks}
	h.Handler = polling.NewHandler(rt, polling.HandlerConfig{
		BasePath:     cfg.BasePath,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Authorize:    cfg.Authorize,
		Logger:       cfg.Logger,
		MaxWait:      cfg.MaxWait,
		SubmitHook:   h.checkCallback,
	})
	h.dispatcher = newDispatcher(rt, cfg, logger)
	return h
}

// checkCallback requires a valid callback URL and secret on a submit and puts
// them in the submission as a pending delivery.
func (h *Handler) checkCallback(r *http.Request, s *jobs.Submission) *transport.Problem {
	rawURL := r.Header.Get(wire.HeaderCallbackURL)
	if p := h.checkURL(rawURL); p != nil {
		return p
	}

	secret := r.Header.Get(wire.HeaderCallbackSecret)
	if secret == "" {
		return transport.InvalidRequest("header %s is missing: send the Standard Webhooks secret (%q and the base64 of %d to %d random bytes) that deliveries are signed with",
			wire.HeaderCallbackSecret, SecretPrefix, MinSecretBytes, MaxSecretBytes)
	}
	if err := ValidSecret(secret); err != nil {
		// The error describes the secret's form without repeating it.
		return transport.InvalidRequest("header %s is not a valid secret: %v", wire.HeaderCallbackSecret, err)
	}

	s.Callback = &jobs.Callback{URL: rawURL, Secret: secret, State: jobs.DeliveryPending}
	return nil
}

// checkURL returns a problem when raw is not a callback URL that the server
// can deliver to.
func (h *Handler) checkURL(raw string) *transport.Problem {
	if raw == "" {
		return transport.InvalidRequest("header %s is missing: send the absolute http or https URL that the result is delivered to, or submit without callback headers to poll",
			wire.HeaderCallbackURL)
	}
	if len(raw) > MaxCallbackURLBytes {
		return transport.InvalidRequest("header %s is %d bytes, over the limit of %d: use a shorter URL",
			wire.HeaderCallbackURL, len(raw), MaxCallbackURLBytes)
	}

	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return transport.InvalidRequest("header %s %q is not a valid URL: %v", wire.HeaderCallbackURL, truncate(raw, 200), err)
	case u.Scheme != "http" && u.Scheme != "https":
		return transport.InvalidRequest("header %s %q has scheme %q: use an absolute http or https URL",
			wire.HeaderCallbackURL, truncate(raw, 200), u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return transport.InvalidRequest("header %s %q has no host: use an absolute http or https URL",
			wire.HeaderCallbackURL, truncate(raw, 200))
	case u.User != nil:
		return transport.InvalidRequest("header %s has user info before the host: remove it, because deliveries are authenticated by their signature",
			wire.HeaderCallbackURL)
	case strings.Contains(raw, "#"):
		return transport.InvalidRequest("header %s %q has a fragment: remove the part from '#'", wire.HeaderCallbackURL, truncate(raw, 200))
	}

	if !h.allowPrivate {
		return checkHost(u.Hostname(), raw)
	}
	return nil
}

// checkHost returns a problem when host is an address literal that
// CheckAddress refuses, or a name under "localhost", which always resolves to
// loopback (RFC 6761). Other host names are judged at each delivery, after
// DNS resolution.
func checkHost(host, raw string) *transport.Problem {
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return transport.InvalidRequest("header %s %q points at %s, a loopback name, which this server does not deliver to: give an address that the server can reach on the public network",
			wire.HeaderCallbackURL, truncate(raw, 200), host)
	}

	addr, err := netip.ParseAddr(host)
	if err != nil {
		return nil
	}
	var addrErr *AddressError
	if errors.As(CheckAddress(addr), &addrErr) {
		return transport.InvalidRequest("header %s %q points at %s, a %s address, which this server does not deliver to: give an address that the server can reach on the public network",
			wire.HeaderCallbackURL, truncate(raw, 200), addr, addrErr.Reason)
	}
	return nil
}

// Shutdown stops the dispatcher: it starts no more deliveries, waits for
// those in flight until ctx ends, then cancels the rest, which stay pending
// in the store and are retried by the next dispatcher on the same store. It
// returns ctx.Err() when ctx ended first. Shutdown does not stop the job
// runtime. It is safe to call more than once.
func (h *Handler) Shutdown(ctx context.Context) error {
	return h.dispatcher.shutdown(ctx)
}

// Close stops the dispatcher at once, canceling deliveries in flight, which
// stay pending in the store. It always returns nil.
func (h *Handler) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = h.dispatcher.shutdown(ctx)
	return nil
}
