package websocket

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// Defaults of HandlerConfig.
const (
	defaultResumeGrace           = 30 * time.Second
	defaultMaxMessageBytes       = 1 << 20
	defaultMaxConnections        = 1024
	defaultMaxCallsPerConnection = 1024
	defaultPingInterval          = 15 * time.Second
	defaultWriteTimeout          = 10 * time.Second

	// closeTimeout bounds the close handshakes that Close waits for.
	closeTimeout = time.Second
	// cancelTimeout bounds the store operations of canceling an orphaned job.
	cancelTimeout = 5 * time.Second
)

// HandlerConfig configures a Handler. The zero value is usable.
type HandlerConfig struct {
	// BasePath is the path prefix of the route, such as "/api". The socket is
	// served at BasePath + "/ws". Defaults to "", the root.
	BasePath string

	// MaxBodyBytes limits the request inside one submit message. A larger
	// request gets an error message with code request-too-large. The request
	// must also fit in a message of MaxMessageBytes. Defaults to
	// 1 MiB.
	MaxBodyBytes int64

	// Authorize returns the owner of each connection, from its upgrade request.
	// It runs before the upgrade, so a rejected client gets an HTTP problem
	// response and no socket. Every job that the connection submits or resumes
	// is scoped to that owner. Defaults to nil: every client is the empty owner.
	Authorize transport.AuthorizeFunc

	// Logger receives a line for every connection and disconnection, for every
	// job submitted, resumed, canceled or orphaned, and for every error the
	// handler handles, with the conn_id and the job_id. Nil means silent.
	// Defaults to nil.
	Logger *slog.Logger

	// ResumeGrace is how long a job whose socket closed before the job finished
	// waits for a resume on another socket. When no socket resumes it in that
	// time, the handler cancels the job, unless KeepJobsOnDisconnect is set.
	// Defaults to 30 s.
	ResumeGrace time.Duration

	// KeepJobsOnDisconnect leaves the jobs of closed sockets running after
	// ResumeGrace: they finish and stay readable by ID through any handler on
	// the same runtime. Defaults to false: such jobs are canceled.
	KeepJobsOnDisconnect bool

	// MaxMessageBytes is the read limit of each socket. A client message over it
	// closes the socket with status 1009 (message too big). Defaults to 1 MiB.
	MaxMessageBytes int64

	// MaxConnections is the maximum number of open sockets. An upgrade request
	// beyond it gets a 503 problem with code overloaded and Retry-After before
	// the upgrade. Defaults to 1024.
	MaxConnections int

	// MaxCallsPerConnection is the maximum number of calls in progress on one
	// socket. A submit or resume beyond it gets an error message with code
	// overloaded. Defaults to 1024.
	MaxCallsPerConnection int

	// PingInterval is how often the handler pings each client. A client that
	// does not send a pong within the interval is taken as gone and its socket is
	// closed. A negative value turns pings off. Defaults to 15 s.
	PingInterval time.Duration

	// WriteTimeout bounds the write of each message. A client that does not
	// take a message within it is taken as gone and its socket is closed.
	// Defaults to 10 s.
	WriteTimeout time.Duration

	// OriginPatterns lists the hosts of other origins from which browsers may
	// open sockets, as coder/websocket's AcceptOptions.OriginPatterns. Clients
	// that send no Origin header, such as this package's Client, are always
	// accepted. Defaults to nil: browsers only from the server's own origin.
	OriginPatterns []string
}

func (c *HandlerConfig) setDefaults() {
	c.BasePath = strings.TrimRight(c.BasePath, "/")
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = wire.DefaultMaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ResumeGrace <= 0 {
		c.ResumeGrace = defaultResumeGrace
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = defaultMaxMessageBytes
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = defaultMaxConnections
	}
	if c.MaxCallsPerConnection <= 0 {
		c.MaxCallsPerConnection = defaultMaxCallsPerConnection
	}
	if c.PingInterval == 0 {
		c.PingInterval = defaultPingInterval
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = defaultWriteTimeout
	}
}

// Handler serves the websocket strategy: GET {BasePath}/ws upgrades to a
// socket that carries submit, resume and cancel messages and the replies to them.
// It is an http.Handler: mount it with mux.Handle(base+"/", h) or serve it
// directly. Call Shutdown or Close to close its sockets.
type Handler struct {
	rt  *jobs.Runtime
	cfg HandlerConfig
	log *slog.Logger
	mux *http.ServeMux

	nextConn atomic.Uint64

	mu       sync.Mutex
	closed   bool
	slots    int                   // connections open or being upgraded
	sessions map[*session]struct{} // open sockets
	watchers map[string]int        // job ID -> number of calls that watch the job
	orphans  map[string]*orphan    // job ID -> its grace timer
	wg       sync.WaitGroup        // sessions and grace timers
}

// orphan is a job whose last socket closed. Its timer cancels the job unless
// a resume arrives within the grace period.
type orphan struct {
	owner string
	timer *time.Timer
}

// NewHandler returns a Handler that runs jobs on rt.
func NewHandler(rt *jobs.Runtime, cfg HandlerConfig) *Handler {
	cfg.setDefaults()
	h := &Handler{
		rt:       rt,
		cfg:      cfg,
		log:      cfg.Logger,
		mux:      http.NewServeMux(),
		sessions: make(map[*session]struct{}),
		watchers: make(map[string]int),
		orphans:  make(map[string]*orphan),
	}

	route := cfg.BasePath + "/ws"
	h.mux.HandleFunc("GET "+route, h.serveSocket)
	h.mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodGet)
		wire.WriteProblem(w, transport.NewProblem(http.StatusMethodNotAllowed, transport.CodeMethodNotAllowed,
			"method %s is not allowed on %s: open the socket with GET", r.Method, route))
	})
	h.mux.HandleFunc(cfg.BasePath+"/", func(w http.ResponseWriter, r *http.Request) {
		wire.WriteProblem(w, transport.NewProblem(http.StatusNotFound, transport.CodeNotFound,
			"no route %s: the websocket strategy serves only GET %s", r.URL.Path, route))
	})
	return h
}

// ServeHTTP implements http.Handler. A socket's request stays in ServeHTTP
// until the socket closes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// serveSocket authorizes and upgrades one request, then serves the socket
// until it closes.
func (h *Handler) serveSocket(w http.ResponseWriter, r *http.Request) {
	owner, problem := wire.Owner(r, h.cfg.Authorize)
	if problem != nil {
		h.log.Warn("websocket upgrade rejected", "remote", r.RemoteAddr, "code", problem.Code, "error", problem)
		wire.WriteProblem(w, problem)
		return
	}
	if !isUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		wire.WriteProblem(w, transport.NewProblem(http.StatusUpgradeRequired, transport.CodeInvalidRequest,
			"%s is a WebSocket endpoint: send a WebSocket upgrade request", r.URL.Path))
		return
	}
	if problem := h.reserve(); problem != nil {
		h.log.Warn("websocket upgrade rejected", "remote", r.RemoteAddr, "code", problem.Code, "error", problem)
		wire.WriteProblem(w, problem)
		return
	}
	defer h.wg.Done()

	conn, err := ws.Accept(w, r, &ws.AcceptOptions{OriginPatterns: h.cfg.OriginPatterns})
	if err != nil {
		// Accept has written the error response.
		h.release(nil)
		h.log.Warn("websocket upgrade failed", "remote", r.RemoteAddr, "error", err)
		return
	}
	conn.SetReadLimit(h.cfg.MaxMessageBytes)

	s, ctx := newSession(h, conn, owner, r.RemoteAddr)
	if !h.add(s) {
		// Shutdown began during the upgrade and does not know this socket, so
		// it is closed without waiting for a close handshake.
		h.release(nil)
		_ = conn.CloseNow()
		return
	}
	s.run(ctx)
	h.release(s)
}

// isUpgrade reports whether r requests a WebSocket upgrade.
func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// reserve takes a connection slot, or returns the 503 problem to send when
// every slot is taken or the handler is shutting down. A taken slot holds h.wg
// until release.
func (h *Handler) reserve() *transport.Problem {
	h.mu.Lock()
	defer h.mu.Unlock()

	if h.closed {
		return transport.NewProblem(http.StatusServiceUnavailable, transport.CodeOverloaded,
			"the server is shutting down: retry after the Retry-After interval, possibly on another replica")
	}
	if h.slots >= h.cfg.MaxConnections {
		return transport.NewProblem(http.StatusServiceUnavailable, transport.CodeOverloaded,
			"the server has %d open sockets, its limit: retry after the Retry-After interval", h.slots)
	}
	h.slots++
	h.wg.Add(1)
	return nil
}

// add registers an upgraded session, unless the handler started shutting down
// after the slot was reserved.
func (h *Handler) add(s *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()

	if h.closed {
		return false
	}
	h.sessions[s] = struct{}{}
	return true
}

// release frees a connection slot and removes s, which may be nil, from the
// open sessions.
func (h *Handler) release(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()

	h.slots--
	if s != nil {
		delete(h.sessions, s)
	}
}

// Shutdown stops accepting sockets, closes every open socket with status 1001
// (going away) and waits for the close handshakes and for every goroutine of
// the handler to end. When ctx ends before every close handshake has ended, it
// closes the remaining sockets at once, waits for the goroutines and returns
// ctx.Err(). With no open sockets, or once every handshake has ended, it
// waits for the goroutines and returns nil even when ctx has ended.
//
// Jobs are left to the runtime: grace timers stop without canceling anything,
// so clients can resume their jobs on another replica or after a restart. Shut
// the runtime down after the handler. Shutdown does not know about the
// http.Server: call it from http.Server.RegisterOnShutdown or next to
// http.Server.Shutdown, which does not wait for upgraded connections.
func (h *Handler) Shutdown(ctx context.Context) error {
	sessions := h.stop()

	// unclosed counts the sockets whose close handshake has not ended. It
	// decides the outcome, so that an ended ctx is not an error when there was
	// nothing left to wait for.
	var unclosed atomic.Int64
	unclosed.Store(int64(len(sessions)))
	var closers sync.WaitGroup
	for _, s := range sessions {
		closers.Add(1)
		go func() {
			defer closers.Done()
			_ = s.conn.Close(ws.StatusGoingAway, "server shutting down")
			unclosed.Add(-1)
		}()
	}

	done := make(chan struct{})
	go func() {
		closers.Wait()
		h.wg.Wait()
		close(done)
	}()

	if unclosed.Load() > 0 {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	remaining := unclosed.Load()
	if remaining == 0 {
		<-done
		h.log.Info("websocket handler shut down", "sockets", len(sessions))
		return nil
	}

	for _, s := range sessions {
		s.cancel()
	}
	<-done
	h.log.Warn("websocket handler shut down before every close handshake ended",
		"sockets", len(sessions), "unclosed", remaining, "error", ctx.Err())
	return ctx.Err()
}

// Close is Shutdown with a bound of one second for the close handshakes. It
// always waits for the handler's goroutines and returns nil.
func (h *Handler) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = h.Shutdown(ctx)
	return nil
}

// stop marks the handler closed, stops the grace timers and returns the open
// sessions.
func (h *Handler) stop() []*session {
	h.mu.Lock()
	defer h.mu.Unlock()

	h.closed = true
	for id, o := range h.orphans {
		if o.timer.Stop() {
			h.wg.Done()
		}
		delete(h.orphans, id)
	}

	sessions := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		sessions = append(sessions, s)
	}
	return sessions
}

// attach records that a call watches the job, which stops the job's grace
// timer if it has one.
func (h *Handler) attach(jobID string) {
	h.mu.Lock()
	defer h.mu.Unlock()

	h.watchers[jobID]++
	if o, ok := h.orphans[jobID]; ok {
		delete(h.orphans, jobID)
		if o.timer.Stop() {
			h.wg.Done()
		}
		h.log.Info("orphaned job resumed within the grace period", "job_id", jobID)
	}
}

// detach records that a call stopped watching the job. When the job is not
// finished and no call watches it anymore, detach starts its grace timer.
func (h *Handler) detach(jobID, owner string, finished bool) {
	h.mu.Lock()
	defer h.mu.Unlock()

	h.watchers[jobID]--
	if h.watchers[jobID] > 0 {
		return
	}
	delete(h.watchers, jobID)
	if finished || h.closed {
		return
	}

	if h.cfg.KeepJobsOnDisconnect {
		h.log.Info("job left running after its socket closed", "job_id", jobID)
		return
	}
	o := &orphan{owner: owner}
	h.orphans[jobID] = o
	h.wg.Add(1)
	o.timer = time.AfterFunc(h.cfg.ResumeGrace, func() {
		defer h.wg.Done()
		h.expire(jobID, o)
	})
	h.log.Info("job orphaned: waiting for a resume", "job_id", jobID, "grace", h.cfg.ResumeGrace)
}

// expire cancels an orphaned job whose grace period ended without a resume.
func (h *Handler) expire(jobID string, o *orphan) {
	h.mu.Lock()
	current := h.orphans[jobID] == o
	if current {
		delete(h.orphans, jobID)
	}
	h.mu.Unlock()
	if !current {
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), cancelTimeout)
	defer cancel()

	job, err := h.rt.Get(ctx, o.owner, jobID)
	if err != nil {
		h.log.Warn("orphaned job could not be read", "job_id", jobID, "error", err)
		return
	}
	if job.State.Finished() {
		return
	}
	if _, err := h.rt.Cancel(ctx, o.owner, jobID); err != nil {
		h.log.Error("cancel of orphaned job failed", "job_id", jobID, "error", err)
		return
	}
	h.log.Warn("job canceled: its client disconnected and did not resume it within the grace period",
		"job_id", jobID, "grace", h.cfg.ResumeGrace)
}
