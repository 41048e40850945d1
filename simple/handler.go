package simple

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// defaultMaxConcurrent is the default of HandlerConfig.MaxConcurrent.
const defaultMaxConcurrent = 64

// HandlerConfig configures a Handler. The zero value is ready to use.
type HandlerConfig struct {
	// BasePath is the path under which the handler serves its route, POST
	// BasePath+"/run". A missing leading slash is added and trailing slashes are
	// removed. It must not contain "{" or "}". Defaults to "", which serves /run.
	BasePath string

	// MaxBodyBytes is the maximum size of a request body in bytes. A longer body
	// gets 413 with code request-too-large. Zero or negative means the default.
	// Defaults to 1 MiB.
	MaxBodyBytes int64

	// Authorize gates every request. The simple strategy keeps no job, so the
	// owner it returns is not stored. Defaults to nil, which allows every request.
	Authorize transport.AuthorizeFunc

	// Logger logs the start and end of every run, every request that the
	// handler rejects, and every engine failure. Defaults to nil, which logs
	// nothing.
	Logger *slog.Logger

	// MaxConcurrent is the maximum number of runs at once. A request beyond it
	// gets 503 with code overloaded and Retry-After as soon as its body is read,
	// before the engine runs. Zero or negative means the default. Defaults to 64.
	MaxConcurrent int
}

// Handler serves the simple strategy: POST {base}/run runs the engine while
// the request waits and responds with its result. It implements http.Handler
// and is safe for concurrent use. Create it with NewHandler.
type Handler struct {
	runner    jobs.Runner
	basePath  string
	maxBody   int64
	authorize transport.AuthorizeFunc
	logger    *slog.Logger  // nil means silent
	slots     chan struct{} // one element per run in progress
	mux       *http.ServeMux
	runs      atomic.Uint64 // numbers the runs in log lines
}

// NewHandler returns a handler that runs runner's engine for each request.
// Wrap an engine with jobs.EngineRunner to get a Runner. NewHandler panics if
// runner is nil or cfg.BasePath contains "{" or "}".
//
// The handler responds with:
//
//   - 200 with the result as JSON when the engine succeeds.
//   - the engine's problem when its error wraps a *transport.Problem, or else
//     500 with code job-failed and the error's text.
//   - 504 with code job-timeout when the deadline from the Longhaul-Timeout
//     header passes before the engine returns.
//   - 400, 401, 413 or 415 problems for a request that is invalid, not
//     authorized, too large or not JSON, before the engine runs.
//   - 503 with code overloaded and Retry-After when MaxConcurrent runs are in
//     progress.
//   - 500 with code internal when the engine panics.
//   - 405 with Allow: POST for another method on the route, 404 for other paths.
//
// The engine's context ends when the client disconnects or the deadline
// passes. A client that disconnected gets no response.
func NewHandler(runner jobs.Runner, cfg HandlerConfig) *Handler {
	if runner == nil {
		panic("simple: NewHandler needs a non-nil jobs.Runner: wrap the engine with jobs.EngineRunner")
	}
	base := cleanBasePath(cfg.BasePath)
	if strings.ContainsAny(base, "{}") {
		panic("simple: HandlerConfig.BasePath " + strconv.Quote(cfg.BasePath) + " must not contain { or }")
	}

	maxBody := cfg.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = wire.DefaultMaxBodyBytes
	}
	maxConcurrent := cfg.MaxConcurrent
	if maxConcurrent <= 0 {
		maxConcurrent = defaultMaxConcurrent
	}

	h := &Handler{
		runner:    runner,
		basePath:  base,
		maxBody:   maxBody,
		authorize: cfg.Authorize,
		logger:    cfg.Logger,
		slots:     make(chan struct{}, maxConcurrent),
		mux:       http.NewServeMux(),
	}
	h.mux.HandleFunc(http.MethodPost+" "+base+"/run", h.serveRun)
	h.mux.HandleFunc(base+"/run", h.serveMethodNotAllowed)
	h.mux.HandleFunc(base+"/", h.serveNotFound)
	return h
}

// ServeHTTP routes the request to the handler's route.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// bodyReadTimeout bounds the reading of a request body.
const bodyReadTimeout = 30 * time.Second

// serveRun checks and reads the request, takes a slot and runs the engine.
func (h *Handler) serveRun(w http.ResponseWriter, r *http.Request) {
	if _, problem := wire.Owner(r, h.authorize); problem != nil {
		h.reject(w, r, problem)
		return
	}
	deadline, problem := wire.Deadline(r, time.Now())
	if problem != nil {
		h.reject(w, r, problem)
		return
	}

	// The body is read before a slot is taken, and within bodyReadTimeout, so
	// that clients which send their headers and then stall cannot hold every
	// slot. The deadline is lifted afterwards: the response may take minutes.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyReadTimeout))
	req, problem := wire.DecodeRequest(w, r, h.runner, h.maxBody)
	_ = rc.SetReadDeadline(time.Time{})
	if problem != nil {
		h.reject(w, r, problem)
		return
	}

	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		h.reject(w, r, transport.NewProblem(http.StatusServiceUnavailable, transport.CodeOverloaded,
			"the server is running its limit of %d simple calls: retry after the Retry-After interval", cap(h.slots)))
		return
	}

	h.run(w, r, req, deadline)
}

// run runs the engine on req until it returns, the client disconnects or the
// deadline passes, and writes the response.
func (h *Handler) run(w http.ResponseWriter, r *http.Request, req json.RawMessage, deadline time.Time) {
	ctx := r.Context()
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}

	id := h.runs.Add(1)
	if h.logger != nil {
		if deadline.IsZero() {
			h.logger.Info("simple: run started", "run", id, "remote_addr", r.RemoteAddr)
		} else {
			h.logger.Info("simple: run started", "run", id, "remote_addr", r.RemoteAddr, "deadline", deadline)
		}
	}

	start := time.Now()
	result, err := h.runEngine(ctx, id, req)
	if err == nil && len(result) == 0 {
		err = transport.NewProblem(http.StatusInternalServerError, transport.CodeInternal,
			"the engine's runner returned an empty result without an error")
	}
	if err != nil {
		h.writeFailure(ctx, w, r, id, err, time.Since(start))
		return
	}

	writeResult(w, result)
	if h.logger != nil {
		h.logger.Info("simple: run finished", "run", id, "status", http.StatusOK, "duration", time.Since(start))
	}
}

// runEngine calls the runner and turns a panic into a 500 internal problem,
// so that the client gets a response rather than a cut connection.
func (h *Handler) runEngine(ctx context.Context, id uint64, req json.RawMessage) (result json.RawMessage, err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		if h.logger != nil {
			h.logger.Error("simple: engine panicked", "run", id, "panic", v, "stack", string(debug.Stack()))
		}
		err = transport.NewProblem(http.StatusInternalServerError, transport.CodeInternal,
			"the engine panicked: the server's log has the details")
	}()

	return h.runner.Run(ctx, req, ignoreProgress)
}

// ignoreProgress drops progress reports, which a simple call cannot carry.
func ignoreProgress(transport.Progress) {}

// writeFailure writes the problem of a run whose engine returned err. A client
// that disconnected gets nothing, because it can no longer read a response.
func (h *Handler) writeFailure(ctx context.Context, w http.ResponseWriter, r *http.Request, id uint64, err error, elapsed time.Duration) {
	if r.Context().Err() != nil {
		if h.logger != nil {
			h.logger.Info("simple: run stopped: the client disconnected", "run", id, "duration", elapsed, "error", err)
		}
		return
	}

	var problem *transport.Problem
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		deadline, _ := ctx.Deadline()
		problem = transport.NewProblem(http.StatusGatewayTimeout, transport.CodeJobTimeout,
			"the job passed its caller's deadline %s before it finished: allow more time, or use an asynchronous strategy such as polling for long jobs",
			deadline.UTC().Format(time.RFC3339Nano))
	} else {
		problem = transport.AsProblem(err)
	}

	if h.logger != nil {
		level := slog.LevelWarn
		if problem.Code == transport.CodeInternal {
			level = slog.LevelError
		}
		h.logger.Log(ctx, level, "simple: run failed", "run", id, "code", problem.Code, "status", problem.Status,
			"duration", elapsed, "error", err)
	}
	wire.WriteProblem(w, problem)
}

// reject writes the problem of a request that the engine never saw.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, problem *transport.Problem) {
	if h.logger != nil {
		level := slog.LevelInfo
		if problem.Code == transport.CodeOverloaded {
			level = slog.LevelWarn
		}
		h.logger.Log(r.Context(), level, "simple: request rejected", "method", r.Method, "path", r.URL.Path,
			"remote_addr", r.RemoteAddr, "code", problem.Code, "status", problem.Status, "detail", problem.Detail)
	}
	wire.WriteProblem(w, problem)
}

func (h *Handler) serveMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	h.reject(w, r, transport.NewProblem(http.StatusMethodNotAllowed, transport.CodeMethodNotAllowed,
		"method %s is not allowed on %s: send POST with the request as JSON", r.Method, r.URL.Path))
}

func (h *Handler) serveNotFound(w http.ResponseWriter, r *http.Request) {
	h.reject(w, r, transport.NewProblem(http.StatusNotFound, transport.CodeNotFound,
		"no route for %s %s: the simple strategy serves POST %s/run", r.Method, r.URL.Path, h.basePath))
}

// writeResult writes a 200 response with result, which the runner encoded as JSON.
func writeResult(w http.ResponseWriter, result []byte) {
	header := w.Header()
	header.Set("Content-Type", wire.ContentTypeJSON)
	header.Set("Content-Length", strconv.Itoa(len(result)+1))
	w.WriteHeader(http.StatusOK)

	// A write error means the client has gone, and nothing is left to tell it.
	_, _ = w.Write(result)
	_, _ = w.Write(newline)
}

var newline = []byte{'\n'}

// cleanBasePath returns p with one leading slash and no trailing slash, or "".
func cleanBasePath(p string) string {
	p = strings.TrimRight(p, "/")
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}
