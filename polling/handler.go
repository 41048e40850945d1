package polling

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// HandlerConfig configures a Handler. The zero value is usable.
type HandlerConfig struct {
	// BasePath is the path under which the handler serves {BasePath}/jobs, such
	// as "/api". A missing leading slash is added and trailing slashes are
	// removed. It must not contain '{', '}' or spaces. Defaults to "", the root.
	BasePath string

	// MaxBodyBytes limits the size of a submitted request body. Zero or
	// negative means the default. Defaults to 1 MiB.
	MaxBodyBytes int64

	// Authorize returns the owner of each request. Jobs are scoped to their
	// owner: another owner's status request or cancel gets 404. Nil means every
	// request has the empty owner. Defaults to nil.
	Authorize transport.AuthorizeFunc

	// Logger receives a line for every submit, cancel and failed request, with
	// the job_id. Nil means silent. Defaults to nil.
	Logger *slog.Logger

	// MaxWait caps the wait of a long-poll (Prefer: wait=N or ?wait=N). Zero
	// or negative means the default. Defaults to 30 s.
	MaxWait time.Duration

	// SubmitHook checks a submit before the job is created and may change the
	// submission, for example to set its Callback from request headers. A
	// returned problem rejects the submit. When SubmitHook is nil, a submit that
	// carries the Longhaul-Callback-Url or Longhaul-Callback-Secret header is
	// rejected with 400, because this handler does not deliver callbacks.
	// Defaults to nil.
	SubmitHook func(r *http.Request, s *jobs.Submission) *transport.Problem
}

// Handler serves the polling protocol over a jobs.Runtime:
//
//	POST   {base}/jobs       submit: 202 Accepted with Location and the status document
//	GET    {base}/jobs/{id}  the job's status, with long-poll (Prefer: wait=N)
//	DELETE {base}/jobs/{id}  cancel the job
//
// Every error is an RFC 9457 problem document. Mount a Handler with
// mux.Handle(base+"/", h), or serve it directly.
type Handler struct {
	rt      *jobs.Runtime
	base    string
	maxBody int64
	maxWait time.Duration
	auth    transport.AuthorizeFunc
	hook    func(r *http.Request, s *jobs.Submission) *transport.Problem
	log     *slog.Logger
	mux     *http.ServeMux

	drained   chan struct{} // closed by Drain: long-polls respond at once
	drainOnce sync.Once
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns a handler that runs the submitted jobs on rt. It panics
// when rt is nil or cfg.BasePath contains '{', '}' or a space.
func NewHandler(rt *jobs.Runtime, cfg HandlerConfig) *Handler {
	if rt == nil {
		panic("polling: NewHandler needs a jobs.Runtime, got nil")
	}
	base := cleanBasePath(cfg.BasePath)
	if strings.ContainsAny(base, "{} \t") {
		panic("polling: HandlerConfig.BasePath " + strconv.Quote(cfg.BasePath) + " contains '{', '}' or a space: use a plain path such as /api")
	}

	h := &Handler{
		rt:      rt,
		base:    base,
		maxBody: cfg.MaxBodyBytes,
		maxWait: cfg.MaxWait,
		auth:    cfg.Authorize,
		hook:    cfg.SubmitHook,
		log:     cfg.Logger,
		mux:     http.NewServeMux(),
		drained: make(chan struct{}),
	}
	if h.maxBody <= 0 {
		h.maxBody = wire.DefaultMaxBodyBytes
	}
	if h.maxWait <= 0 {
		h.maxWait = wire.DefaultMaxWait
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}

	h.mux.HandleFunc("POST "+base+"/jobs", h.submit)
	h.mux.HandleFunc("GET "+base+"/jobs/{id}", h.status)
	h.mux.HandleFunc("DELETE "+base+"/jobs/{id}", h.cancel)
	// Patterns without a method match every method the patterns above do not,
	// so that a wrong method gets a problem document instead of the plain-text
	// 405 of http.ServeMux.
	h.mux.HandleFunc(base+"/jobs", h.methodNotAllowed(http.MethodPost))
	h.mux.HandleFunc(base+"/jobs/{id}", h.methodNotAllowed("GET, HEAD, DELETE"))
	h.mux.HandleFunc(base+"/", h.notFound)
	return h
}

func cleanBasePath(p string) string {
	p = strings.TrimRight(p, "/")
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// Drain makes every long-poll in progress, and every later one, respond at
// once with the job's current status, so that http.Server.Shutdown need not
// wait up to MaxWait for them. Clients poll again, elsewhere or after a
// restart. Register it with http.Server.RegisterOnShutdown. Drain is idempotent.
func (h *Handler) Drain() {
	h.drainOnce.Do(func() { close(h.drained) })
}

// ServeHTTP routes the request to the submit, status or cancel endpoint.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// submit serves POST {base}/jobs.
func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	owner, p := wire.Owner(r, h.auth)
	if p != nil {
		h.fail(w, r, "", p)
		return
	}
	key, p := wire.IdempotencyKey(r)
	if p != nil {
		h.fail(w, r, "", p)
		return
	}
	deadline, p := wire.Deadline(r, h.rt.Now())
	if p != nil {
		h.fail(w, r, "", p)
		return
	}
	body, p := wire.DecodeRequest(w, r, h.rt.Runner(), h.maxBody)
	if p != nil {
		h.fail(w, r, "", p)
		return
	}

	sub := jobs.Submission{Owner: owner, IdempotencyKey: key, Request: body, Deadline: deadline}
	if p := h.checkSubmission(r, &sub); p != nil {
		h.fail(w, r, "", p)
		return
	}

	job, created, err := h.rt.Submit(r.Context(), sub)
	if err != nil {
		h.fail(w, r, "", wire.ProblemOf(err))
		return
	}

	w.Header().Set("Location", h.base+"/jobs/"+job.ID)
	w.Header().Set("Retry-After", strconv.Itoa(wire.DefaultRetryAfter))
	if !created {
		w.Header().Set(headerReplayed, "true")
	}
	h.writeStatus(w, http.StatusAccepted, job)
	h.log.Info("job submitted", "job_id", job.ID, "replayed", !created, "state", job.State)
}

// checkSubmission runs the submit hook, or without one rejects a callback
// submit that this handler would not deliver.
func (h *Handler) checkSubmission(r *http.Request, sub *jobs.Submission) *transport.Problem {
	if h.hook != nil {
		return h.hook(r, sub)
	}
	if r.Header.Get(wire.HeaderCallbackURL) != "" || r.Header.Get(wire.HeaderCallbackSecret) != "" {
		return transport.InvalidRequest("this server does not deliver callbacks: remove the %s and %s headers and poll the job, or use a server that mounts the callback handler",
			wire.HeaderCallbackURL, wire.HeaderCallbackSecret)
	}
	return nil
}

// status serves GET {base}/jobs/{id}. With a wait, it holds the request until
// the job's version differs from the one in If-None-Match (until the job ends
// when there is none) or the wait passes, and responds with 200 either way.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	owner, p := wire.Owner(r, h.auth)
	if p != nil {
		h.fail(w, r, id, p)
		return
	}
	wait, p := wire.Wait(r, h.maxWait)
	if p != nil {
		h.fail(w, r, id, p)
		return
	}

	select {
	case <-h.drained:
		wait = 0
	default:
	}

	var job *jobs.Job
	var err error
	if wait > 0 {
		job, err = h.waitForChange(r, owner, id, wait)
	} else {
		job, err = h.rt.Get(r.Context(), owner, id)
	}
	if err != nil {
		h.fail(w, r, id, wire.ProblemOf(err))
		return
	}

	if wait > 0 {
		w.Header().Set(headerPreferenceApplied, "wait="+formatSeconds(wait))
	}
	h.writeStatus(w, http.StatusOK, job)
}

// waitForChange returns the job once it differs from the request's
// If-None-Match version, or as it is when wait passes.
func (h *Handler) waitForChange(r *http.Request, owner, id string, wait time.Duration) (*jobs.Job, error) {
	version := wire.ParseETag(r.Header.Get("If-None-Match"))
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	go func() {
		select {
		case <-h.drained:
			cancel()
		case <-ctx.Done():
		}
	}()

	job, err := h.rt.Wait(ctx, owner, id, version)
	if err != nil && ctx.Err() != nil && r.Context().Err() == nil {
		// A store may fail a read whose context has just expired. The wait is
		// over, so the handler returns the job as it is now.
		return h.rt.Get(r.Context(), owner, id)
	}
	return job, err
}

// cancel serves DELETE {base}/jobs/{id}.
func (h *Handler) cancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	owner, p := wire.Owner(r, h.auth)
	if p != nil {
		h.fail(w, r, id, p)
		return
	}

	job, err := h.rt.Cancel(r.Context(), owner, id)
	if err != nil {
		h.fail(w, r, id, wire.ProblemOf(err))
		return
	}

	h.writeStatus(w, http.StatusOK, job)
	h.log.Info("job cancel requested", "job_id", job.ID, "state", job.State)
}

func (h *Handler) methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		h.fail(w, r, "", transport.NewProblem(http.StatusMethodNotAllowed, transport.CodeMethodNotAllowed,
			"method %s is not allowed on %s: use %s", r.Method, r.URL.Path, allow))
	}
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	p := transport.NewProblem(http.StatusNotFound, transport.CodeNotFound,
		"no endpoint at %s: the polling protocol serves POST %s/jobs, and GET and DELETE %s/jobs/{id}", r.URL.Path, h.base, h.base)
	p.Title = "Not found"
	h.fail(w, r, "", p)
}

// writeStatus writes the job's status document with its ETag.
func (h *Handler) writeStatus(w http.ResponseWriter, code int, job *jobs.Job) {
	w.Header().Set("ETag", wire.ETag(job.Version))
	w.Header().Set("Cache-Control", "no-store")
	wire.WriteJSON(w, code, wire.StatusOf(job))
}

// fail logs p and writes it as the response. A valid jobID is set as the
// problem's job_id.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, jobID string, p *transport.Problem) {
	if p.JobID == "" && jobs.ValidID(jobID) {
		p.JobID = jobID
	}
	level := slog.LevelInfo
	if p.Status >= 500 || p.Status < 400 {
		level = slog.LevelError
	}
	h.log.Log(r.Context(), level, "request failed",
		"method", r.Method, "path", r.URL.Path, "job_id", p.JobID, "status", p.Status, "code", p.Code, "detail", p.Detail)
	wire.WriteProblem(w, p)
}
