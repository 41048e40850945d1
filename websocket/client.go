package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/longhaul-go/longhaul/transport"
)

// Defaults of Config.
const (
	defaultClientPingInterval    = 15 * time.Second
	defaultClientMaxMessageBytes = 16 << 20
	defaultDialTimeout           = 30 * time.Second
)

// Config configures a Client. The zero value is usable.
type Config struct {
	// HTTPClient performs the upgrade request of each dial, so its Transport
	// sets TLS and proxies. Its Timeout, when set, bounds each dial and never
	// the socket. Defaults to nil: http.DefaultClient.
	HTTPClient *http.Client

	// DialTimeout bounds each dial: the connection, the TLS handshake and the
	// upgrade, on the first dial and on every reconnect. A dial that runs past
	// it fails with transport.ErrAttemptTimeout and is retried, so a server or
	// middlebox that accepts the connection and never responds to the upgrade
	// request cannot hold up the client. Zero or negative means 30 s when
	// neither Pipeline.AttemptTimeout nor HTTPClient.Timeout is set, and no
	// bound of its own when one is, because that one bounds each dial then.
	// Defaults to 30 s.
	DialTimeout time.Duration

	// Header is sent with every upgrade request, for example an Authorization
	// header for the server's authorization hook. Defaults to nil.
	Header http.Header

	// Pipeline configures the retries, the circuit breaker and the per-attempt
	// timeout of every dial and every submit. A dial that fails on every
	// attempt ends the calls whose job the server has not accepted yet with
	// ErrUnavailable. Calls whose job was accepted are not ended by failed
	// dials: the client keeps dialing for them, one attempt at a time with
	// backoff capped at Retry.MaxDelay, and outside the circuit breaker,
	// until each call's context ends or Close. A submit is retried when the
	// server rejects it as overloaded. Defaults to the zero PipelineConfig:
	// 5 attempts with backoff from 100 ms up to 10 s, a breaker per server
	// and no per-attempt timeout.
	Pipeline transport.PipelineConfig

	// Logger receives a line when the socket connects, disconnects or fails
	// to reconnect, when a call is resumed or resubmitted after a reconnect,
	// and when the server sends a message the client cannot use, with the job
	// IDs involved. Nil means silent. Defaults to nil.
	Logger *slog.Logger

	// PingInterval is how often the client pings the server. A server that
	// does not send a pong within the interval is taken as gone: the client closes
	// the socket and reconnects. A negative value turns pings off. Defaults to
	// 15 s.
	PingInterval time.Duration

	// WriteTimeout bounds the write of each message. A write that does not end
	// within it closes the socket, and the client reconnects. Defaults to 10 s.
	WriteTimeout time.Duration

	// MaxMessageBytes is the read limit of the socket: the largest message,
	// such as a result, that the client accepts. A larger message closes the
	// socket and ends every call in progress with an error. Defaults to 16 MiB.
	MaxMessageBytes int64
}

func (c *Config) setDefaults() {
	if c.DialTimeout <= 0 && c.Pipeline.AttemptTimeout <= 0 && (c.HTTPClient == nil || c.HTTPClient.Timeout <= 0) {
		c.DialTimeout = defaultDialTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.PingInterval == 0 {
		c.PingInterval = defaultClientPingInterval
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = defaultWriteTimeout
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = defaultClientMaxMessageBytes
	}
}

// Client runs jobs over one shared WebSocket to a Handler. It dials on the
// first call, carries every call on that socket, and reconnects and resumes
// the calls in progress when the socket drops. It implements transport.Client
// and is safe for concurrent use.
type Client[Req, Res any] struct {
	m *mux
}

var _ transport.Client[int, int] = (*Client[int, int])(nil)

// NewClient returns a client of the websocket server at baseURL, an absolute
// http, https, ws or wss URL whose path is the server's base path, such as
// "http://127.0.0.1:8080/api". The socket goes to the same host and path
// followed by "/ws", with the scheme ws or wss. NewClient does not dial.
func NewClient[Req, Res any](baseURL string, cfg Config) (*Client[Req, Res], error) {
	socketURL, target, err := socketURL(baseURL)
	if err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Client[Req, Res]{m: newMux(socketURL, target, cfg)}, nil
}

// socketURL returns the socket URL of a base URL and the breaker target, the
// scheme and host of the server as http or https.
func socketURL(baseURL string) (socket, target string, err error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", "", fmt.Errorf("websocket: invalid base URL %q: %w", baseURL, err)
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("websocket: invalid base URL %q: use an absolute URL such as http://127.0.0.1:8080/api", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("websocket: invalid base URL %q: remove the query and the fragment", baseURL)
	}

	httpScheme := ""
	switch u.Scheme {
	case "http", "ws":
		u.Scheme, httpScheme = "ws", "http"
	case "https", "wss":
		u.Scheme, httpScheme = "wss", "https"
	default:
		return "", "", fmt.Errorf("websocket: invalid base URL %q: use the scheme http, https, ws or wss", baseURL)
	}
	// Work on the escaped path, so that an encoded slash in the base path stays encoded.
	escaped := strings.TrimRight(u.EscapedPath(), "/") + "/ws"
	path, err := url.PathUnescape(escaped)
	if err != nil {
		return "", "", fmt.Errorf("websocket: invalid base URL %q: %w", baseURL, err)
	}
	u.Path, u.RawPath = path, escaped
	return u.String(), httpScheme + "://" + u.Host, nil
}

// Do sends req as a submit on the shared socket, waits for the job to end and
// returns its result.
//
// The submit carries the call's idempotency key (WithIdempotencyKey, or a
// random key per call) and the time left until ctx's deadline, so the server
// stops the job once the caller has given up. Do calls the OnAccepted option
// once with the job ID and the OnProgress option whenever the server reports
// progress, both from the calling goroutine.
//
// When the socket drops, the client reconnects and resumes the call by its
// job ID. A call whose job ID had not arrived is submitted again with the
// same idempotency key, so the server returns the same job and the caller gets
// one result. Such a call ends with an *transport.UnavailableError when every
// dial that the pipeline allows fails. A call with a job ID waits through the
// outage instead: the client keeps reconnecting until ctx ends or Close. The
// server cancels the job when no client resumes it within its grace period,
// and the resume then returns a *transport.JobError with code job-canceled.
// When ctx ends, Do sends a best-effort cancel of the job if the socket is
// open and returns an error that matches ctx.Err(). A job that failed or was
// canceled returns a *transport.JobError with the job ID. See
// transport.Client for the other errors.
func (c *Client[Req, Res]) Do(ctx context.Context, req Req, opts ...transport.CallOption) (Res, error) {
	var zero Res
	body, err := json.Marshal(req)
	if err != nil {
		return zero, fmt.Errorf("websocket: encode request: %w", err)
	}

	jobID, raw, err := c.m.do(ctx, body, transport.ApplyCallOptions(opts...))
	if err != nil {
		return zero, err
	}

	var res Res
	if err := json.Unmarshal(raw, &res); err != nil {
		return zero, fmt.Errorf("websocket: decode result of job %s: %w", jobID, err)
	}
	return res, nil
}

// Close ends the calls in progress with transport.ErrClosed, closes the socket
// with status 1000 (normal closure) and waits for the client's goroutines.
// It does not cancel the jobs of those calls: the server cancels them when no
// client resumes them within its grace period. Close is idempotent and
// returns nil.
func (c *Client[Req, Res]) Close() error {
	c.m.close()
	return nil
}
