package longhaul

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/longhaul-go/longhaul/callback"
	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/polling"
	"github.com/longhaul-go/longhaul/simple"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
	"github.com/longhaul-go/longhaul/websocket"
)

// ServerConfig configures a Server. The zero value serves all four strategies at
// the root with an in-memory job store.
//
// BasePath, MaxBodyBytes, Authorize and Logger apply to every strategy. Each
// strategy's own section sets the rest of its handler, and a section that
// leaves one of these four zero takes it from here.
type ServerConfig struct {
	// BasePath is the path prefix of every route, such as "/api/stock", without
	// a trailing slash. Defaults to "" (the routes sit at the root).
	BasePath string
	// MaxBodyBytes is the maximum size of a request body in bytes. Defaults to
	// 1 MiB.
	MaxBodyBytes int64
	// Authorize returns the owner of a request, and jobs are scoped to their
	// owner. Defaults to nil, which gives every request the empty owner.
	Authorize transport.AuthorizeFunc
	// Logger logs the server's events with their job IDs. Defaults to nil, which
	// logs nothing.
	Logger *slog.Logger

	// Jobs configures the job runtime shared by polling, callback and websocket:
	// its store, workers, queue depth and retention. Its Logger defaults to Logger.
	Jobs jobs.Config

	Simple    simple.HandlerConfig
	Polling   polling.HandlerConfig
	Callback  callback.HandlerConfig
	WebSocket websocket.HandlerConfig
}

// Server serves one engine through all four strategies under one base path:
//
//	POST {base}/run            simple
//	POST {base}/jobs           polling, or callback when Longhaul-Callback-Url or -Secret is set
//	GET  {base}/jobs/{id}      the job's status, result or problem
//	DELETE {base}/jobs/{id}    cancels the job
//	GET  {base}/ws             websocket
//
// A job submitted through any asynchronous strategy is readable through
// GET {base}/jobs/{id}. Mount a Server on a mux with mux.Handle(base+"/", s),
// or serve it directly.
type Server struct {
	runtime   *jobs.Runtime
	basePath  string
	simple    http.Handler
	polling   *polling.Handler
	callback  *callback.Handler
	websocket *websocket.Handler
}

// NewServer returns a Server that runs engine. Call Shutdown to stop it.
func NewServer[Req, Res any](engine transport.Engine[Req, Res], cfg ServerConfig) *Server {
	base := strings.TrimRight(cfg.BasePath, "/")
	if cfg.Jobs.Logger == nil {
		cfg.Jobs.Logger = cfg.Logger
	}
	runner := jobs.EngineRunner(engine)
	rt := jobs.New(runner, cfg.Jobs)

	sc := cfg.Simple
	inheritHandler(&sc.BasePath, &sc.MaxBodyBytes, &sc.Authorize, &sc.Logger, base, cfg)
	pc := cfg.Polling
	inheritHandler(&pc.BasePath, &pc.MaxBodyBytes, &pc.Authorize, &pc.Logger, base, cfg)
	cc := cfg.Callback
	inheritHandler(&cc.BasePath, &cc.MaxBodyBytes, &cc.Authorize, &cc.Logger, base, cfg)
	wc := cfg.WebSocket
	inheritHandler(&wc.BasePath, &wc.MaxBodyBytes, &wc.Authorize, &wc.Logger, base, cfg)

	return &Server{
		runtime:   rt,
		basePath:  base,
		simple:    simple.NewHandler(runner, sc),
		polling:   polling.NewHandler(rt, pc),
		callback:  callback.NewHandler(rt, cc),
		websocket: websocket.NewHandler(rt, wc),
	}
}

func inheritHandler(basePath *string, maxBody *int64, authorize *transport.AuthorizeFunc, logger **slog.Logger, base string, cfg ServerConfig) {
	if *basePath == "" {
		*basePath = base
	}
	if *maxBody == 0 {
		*maxBody = cfg.MaxBodyBytes
	}
	if *authorize == nil {
		*authorize = cfg.Authorize
	}
	if *logger == nil {
		*logger = cfg.Logger
	}
}

// ServeHTTP routes the request to the strategy that serves its path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, s.basePath)
	if !ok {
		rest = ""
	}
	switch {
	case rest == "/run":
		s.simple.ServeHTTP(w, r)
	case rest == "/ws":
		s.websocket.ServeHTTP(w, r)
	case rest == "/jobs" && (r.Header.Get(wire.HeaderCallbackURL) != "" || r.Header.Get(wire.HeaderCallbackSecret) != ""):
		s.callback.ServeHTTP(w, r)
	case rest == "/jobs" || strings.HasPrefix(rest, "/jobs/"):
		s.polling.ServeHTTP(w, r)
	default:
		wire.WriteProblem(w, transport.NewProblem(http.StatusNotFound, transport.CodeNotFound,
			"no route for %s %s: this server serves %s/run, %s/jobs, %s/jobs/{id} and %s/ws",
			r.Method, r.URL.Path, s.basePath, s.basePath, s.basePath, s.basePath))
	}
}

// Runtime returns the job runtime shared by the asynchronous strategies.
func (s *Server) Runtime() *jobs.Runtime { return s.runtime }

// Drain makes long-polls in progress, and later ones, respond at once with the
// job's current status, so that http.Server.Shutdown does not wait for them.
// Register it before serving:
//
//	httpServer.RegisterOnShutdown(srv.Drain)
//
// Shutdown calls it too. Drain is idempotent.
func (s *Server) Drain() {
	s.polling.Drain()
	s.callback.Drain()
}

// Shutdown closes WebSocket connections, lets running jobs finish until ctx
// ends, puts the rest back in the store's queue, and stops callback deliveries.
// It does not close the http.Server that serves s: shut that down first, so that
// no new request arrives.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Drain()
	wsErr := s.websocket.Shutdown(ctx)
	rtErr := s.runtime.Shutdown(ctx)
	cbErr := s.callback.Shutdown(ctx)
	return errors.Join(wsErr, rtErr, cbErr)
}
