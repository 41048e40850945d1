package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	ws "github.com/coder/websocket"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// Limits of a session's invalid messages.
const (
	// maxInvalidInARow is the number of invalid messages in a row that get an
	// error reply. The next one closes the socket with status 1008 (policy
	// violation), so a broken client cannot keep the server sending errors.
	maxInvalidInARow = 32
	// maxInvalidLogged is the number of invalid messages per socket logged one
	// by one. The disconnect line counts them all.
	maxInvalidLogged = 3
)

// session serves one socket: a read loop that dispatches client messages, one
// goroutine per call in progress, and a pinger.
type session struct {
	h      *Handler
	conn   *ws.Conn
	owner  string
	id     string // conn_id in logs
	remote string
	cancel context.CancelFunc // ends the session's context, which closes the socket

	mu       sync.Mutex
	calls    map[string]*serverCall
	invalid  int // invalid messages in a row
	rejected int // invalid messages in total
	wg       sync.WaitGroup
}

// serverCall is a submit or resume in progress on a socket.
type serverCall struct {
	id string

	// Guarded by session.mu.
	jobID           string
	cancelRequested bool // a cancel arrived before the job existed
}

// newSession returns the session of conn and the context that lives as long
// as the session.
func newSession(h *Handler, conn *ws.Conn, owner, remote string) (*session, context.Context) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{
		h:      h,
		conn:   conn,
		owner:  owner,
		id:     "ws-" + strconv.FormatUint(h.nextConn.Add(1), 10),
		remote: remote,
		cancel: cancel,
		calls:  make(map[string]*serverCall),
	}
	return s, ctx
}

// run serves the socket until it closes, then waits for the session's
// goroutines. Jobs that the session's calls watched and that are unfinished
// become orphans (see Handler.detach) as their calls end.
func (s *session) run(ctx context.Context) {
	start := time.Now()
	s.h.log.Info("websocket connected", "conn_id", s.id, "remote", s.remote)

	if s.h.cfg.PingInterval > 0 {
		s.wg.Add(1)
		go s.ping(ctx)
	}

	err := s.read(ctx)
	s.cancel()
	_ = s.conn.CloseNow()
	s.wg.Wait()

	s.mu.Lock()
	rejected := s.rejected
	s.mu.Unlock()
	s.h.log.Info("websocket disconnected", "conn_id", s.id, "reason", disconnectReason(err),
		"duration", time.Since(start), "invalid_messages", rejected)
}

// disconnectReason describes the error that ended a read loop.
func disconnectReason(err error) string {
	var closeErr ws.CloseError
	switch {
	case errors.As(err, &closeErr):
		return fmt.Sprintf("closed with status %d (%s) %q", int(closeErr.Code), closeErr.Code, closeErr.Reason)
	case errors.Is(err, ws.ErrMessageTooBig):
		return "message over the read limit: closed with status 1009"
	case errors.Is(err, errTooManyInvalid):
		return "too many invalid messages in a row: closed with status 1008"
	case errors.Is(err, context.Canceled):
		return "closed by this process"
	case err == nil:
		return "closed"
	}
	return "connection lost: " + err.Error()
}

var errTooManyInvalid = errors.New("websocket: too many invalid messages in a row")

// read reads and dispatches client messages until the socket fails or closes.
func (s *session) read(ctx context.Context) error {
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			return err
		}

		if typ != ws.MessageText {
			err = s.reject(ctx, wire.Message{}, transport.InvalidRequest("binary messages are not supported: send each message as a JSON text message"))
		} else {
			err = s.dispatch(ctx, data)
		}
		if err != nil {
			_ = s.conn.Close(ws.StatusPolicyViolation, "too many invalid messages")
			return err
		}
	}
}

// dispatch decodes one message and starts its work. It returns
// errTooManyInvalid when the socket must close.
func (s *session) dispatch(ctx context.Context, data []byte) error {
	m, problem := wire.DecodeClientMessage(data)
	if problem != nil {
		return s.reject(ctx, m, problem)
	}

	s.mu.Lock()
	s.invalid = 0
	s.mu.Unlock()

	switch m.Type {
	case wire.MsgSubmit, wire.MsgResume:
		s.start(ctx, m)
	case wire.MsgCancel:
		s.cancelCall(ctx, m)
	}
	return nil
}

// reject replies to an invalid message with an error message that carries the
// message's call ID when it has a valid one.
func (s *session) reject(ctx context.Context, m wire.Message, problem *transport.Problem) error {
	s.mu.Lock()
	s.invalid++
	s.rejected++
	inARow, total := s.invalid, s.rejected
	s.mu.Unlock()

	callID := ""
	if validCallID(m.CallID) {
		callID = m.CallID
	}
	if total <= maxInvalidLogged {
		s.h.log.Warn("invalid websocket message", "conn_id", s.id, "call_id", callID, "error", problem)
	}
	if inARow > maxInvalidInARow {
		return errTooManyInvalid
	}
	_ = s.send(ctx, wire.Message{Type: wire.MsgError, CallID: callID, Problem: problem})
	return nil
}

// validCallID reports whether id is a call ID that wire.DecodeClientMessage
// accepts, so that a reply never echoes a malformed one.
func validCallID(id string) bool {
	if id == "" || len(id) > wire.MaxCallIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// start registers a submit or resume and runs it on its own goroutine, so
// that a slow store or a long watch does not hold up the read loop.
func (s *session) start(ctx context.Context, m wire.Message) {
	c, problem := s.register(m.CallID)
	if problem != nil {
		_ = s.send(ctx, wire.Message{Type: wire.MsgError, CallID: m.CallID, Problem: problem})
		return
	}

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// The final message of a call unregisters it first, so this covers
		// the calls that end without one, such as when the socket fails.
		defer s.unregister(c)

		if m.Type == wire.MsgSubmit {
			s.submit(ctx, c, m)
		} else {
			s.resume(ctx, c, m)
		}
	}()
}

func (s *session) register(callID string) (*serverCall, *transport.Problem) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if _, ok := s.calls[callID]; ok {
		return nil, transport.InvalidRequest("call_id %q is already in use by a call in progress on this socket: use a new call ID for each submit and resume", callID)
	}
	if len(s.calls) >= s.h.cfg.MaxCallsPerConnection {
		return nil, transport.NewProblem(http.StatusServiceUnavailable, transport.CodeOverloaded,
			"this socket has %d calls in progress, its limit: wait for one to end or open another socket", len(s.calls))
	}
	c := &serverCall{id: callID}
	s.calls[callID] = c
	return c, nil
}

// unregister frees the call's ID for a new call. It is safe to call more
// than once: a later call that reuses the ID keeps its registration.
func (s *session) unregister(c *serverCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls[c.id] == c {
		delete(s.calls, c.id)
	}
}

// sendFinal unregisters the call and then sends its last message. A client
// may reuse the call ID as soon as that message arrives, as it does when it
// retries a submit rejected as overloaded, so the ID must be free by then.
func (s *session) sendFinal(ctx context.Context, c *serverCall, m wire.Message) error {
	s.unregister(c)
	return s.send(ctx, m)
}

// submit creates the call's job, or finds the job of its idempotency key,
// sends accepted and watches the job.
func (s *session) submit(ctx context.Context, c *serverCall, m wire.Message) {
	if size := int64(len(m.Request)); size > s.h.cfg.MaxBodyBytes {
		s.fail(ctx, c, "", transport.NewProblem(http.StatusRequestEntityTooLarge, transport.CodeTooLarge,
			"request is %d bytes, over the limit of %d: send fewer product IDs per request, or split the request", size, s.h.cfg.MaxBodyBytes))
		return
	}
	request, err := s.h.rt.Runner().Decode(m.Request)
	if err != nil {
		s.fail(ctx, c, "", transport.AsProblem(err))
		return
	}

	var deadline time.Time
	if m.TimeoutMs > 0 {
		deadline = s.h.rt.Now().Add(millisecondsToDuration(m.TimeoutMs))
	}
	job, created, err := s.h.rt.Submit(ctx, jobs.Submission{
		Owner:          s.owner,
		IdempotencyKey: m.IdempotencyKey,
		Request:        request,
		Deadline:       deadline,
	})
	if err != nil {
		if ctx.Err() == nil {
			s.fail(ctx, c, "", wire.ProblemOf(err))
		}
		return
	}

	if created {
		s.h.log.Info("job submitted", "conn_id", s.id, "call_id", c.id, "job_id", job.ID)
	} else {
		s.h.log.Info("job submit replayed for its idempotency key", "conn_id", s.id, "call_id", c.id, "job_id", job.ID)
	}
	s.follow(ctx, c, job)
}

// resume attaches the call to an existing job of the socket's owner.
func (s *session) resume(ctx context.Context, c *serverCall, m wire.Message) {
	job, err := s.h.rt.Get(ctx, s.owner, m.JobID)
	if err != nil {
		if ctx.Err() == nil {
			s.fail(ctx, c, m.JobID, wire.ProblemOf(err))
		}
		return
	}

	s.h.log.Info("job resumed", "conn_id", s.id, "call_id", c.id, "job_id", job.ID, "state", job.State)
	s.follow(ctx, c, job)
}

// millisecondsToDuration converts a positive timeout_ms to a duration. A
// time.Duration ends at about 292 years, so a longer timeout counts as that
// long instead of overflowing into a negative duration and a deadline in the
// past. The Longhaul-Timeout header of the HTTP strategies saturates the same
// way.
func millisecondsToDuration(ms int64) time.Duration {
	return time.Duration(min(ms, int64(math.MaxInt64/time.Millisecond))) * time.Millisecond
}

// fail ends the call with an error message and logs it.
func (s *session) fail(ctx context.Context, c *serverCall, jobID string, problem *transport.Problem) {
	s.h.log.Warn("call rejected", "conn_id", s.id, "call_id", c.id, "job_id", jobID, "code", problem.Code, "error", problem)
	_ = s.sendFinal(ctx, c, wire.Message{Type: wire.MsgError, CallID: c.id, JobID: jobID, Problem: problem})
}

// follow sends accepted for the call's job and sends its progress and its
// final message. A cancel that arrived before the job existed is applied here.
func (s *session) follow(ctx context.Context, c *serverCall, job *jobs.Job) {
	s.mu.Lock()
	c.jobID = job.ID
	cancelNow := c.cancelRequested
	s.mu.Unlock()
	if cancelNow {
		s.cancelJob(ctx, c.id, job.ID)
	}

	s.h.attach(job.ID)
	finished := false
	defer func() { s.h.detach(job.ID, s.owner, finished) }()

	if err := s.send(ctx, wire.Message{Type: wire.MsgAccepted, CallID: c.id, JobID: job.ID}); err != nil {
		return
	}
	finished = s.watch(ctx, c, job)
}

// watch sends the job's progress whenever it changes and the final message
// once the job has finished. It reports whether the final message went out
// or the job is known to be finished.
//
// A job can finish between two reads, or before the first, so the final
// progress that the runtime stores with the result goes out before the final
// message when the call has not sent it yet. Polling clients read the same
// final progress from the status document.
func (s *session) watch(ctx context.Context, c *serverCall, job *jobs.Job) bool {
	var last transport.Progress
	for {
		if job.Progress != last {
			last = job.Progress
			if err := s.send(ctx, progressMessage(c.id, job)); err != nil {
				return job.State.Finished()
			}
		}
		if job.State.Finished() {
			_ = s.sendFinal(ctx, c, finalMessage(c.id, job))
			return true
		}

		next, err := s.h.rt.Wait(ctx, s.owner, job.ID, job.Version)
		if ctx.Err() != nil {
			return false
		}
		if err != nil {
			problem := wire.ProblemOf(err)
			s.h.log.Error("watching job failed", "conn_id", s.id, "call_id", c.id, "job_id", job.ID, "error", err)
			_ = s.sendFinal(ctx, c, wire.Message{Type: wire.MsgError, CallID: c.id, JobID: job.ID, Problem: problem})
			return false
		}
		job = next
	}
}

// progressMessage returns the progress message of the job's stored progress.
func progressMessage(callID string, job *jobs.Job) wire.Message {
	p := job.Progress
	return wire.Message{Type: wire.MsgProgress, CallID: callID, JobID: job.ID, Progress: &p}
}

// finalMessage returns the result or error message of a finished job.
func finalMessage(callID string, job *jobs.Job) wire.Message {
	if job.State == jobs.StateSucceeded {
		return wire.Message{Type: wire.MsgResult, CallID: callID, JobID: job.ID, Result: job.Result}
	}

	problem := job.Problem
	if problem == nil {
		// The runtime always records a problem, so this guards a store that lost it.
		problem = transport.NewProblem(http.StatusInternalServerError, transport.CodeJobFailed,
			"job %s ended in state %s without a problem", job.ID, job.State)
		problem.JobID = job.ID
	}
	return wire.Message{Type: wire.MsgError, CallID: callID, JobID: job.ID, Problem: problem}
}

// cancelCall cancels the job of the call named by the message, or the job it
// names when the call is not in progress on this socket, as after a reconnect.
// The call's watch then sends the job's final error message.
func (s *session) cancelCall(ctx context.Context, m wire.Message) {
	s.mu.Lock()
	c := s.calls[m.CallID]
	jobID := m.JobID
	if c != nil {
		jobID = c.jobID
		if jobID == "" {
			c.cancelRequested = true
		}
	}
	s.mu.Unlock()

	switch {
	case c != nil && jobID == "":
		s.h.log.Info("cancel requested before the job existed", "conn_id", s.id, "call_id", m.CallID)
	case jobID == "":
		_ = s.send(ctx, wire.Message{Type: wire.MsgError, CallID: m.CallID, Problem: transport.NewProblem(http.StatusNotFound, transport.CodeNotFound,
			"no call %q is in progress on this socket: send the job_id to cancel a job of an earlier socket", m.CallID)})
	default:
		if err := s.cancelJob(ctx, m.CallID, jobID); err != nil && c == nil {
			_ = s.send(ctx, wire.Message{Type: wire.MsgError, CallID: m.CallID, JobID: jobID, Problem: wire.ProblemOf(err)})
		}
	}
}

// cancelJob cancels the job through the runtime and logs the outcome.
func (s *session) cancelJob(ctx context.Context, callID, jobID string) error {
	_, err := s.h.rt.Cancel(ctx, s.owner, jobID)
	if err != nil {
		s.h.log.Warn("cancel requested by client failed", "conn_id", s.id, "call_id", callID, "job_id", jobID, "error", err)
		return err
	}
	s.h.log.Info("job cancel requested by client", "conn_id", s.id, "call_id", callID, "job_id", jobID)
	return nil
}

// send writes one message within the write timeout. coder/websocket writes
// each message whole, so concurrent sends do not interleave, and every call's
// messages come from one goroutine, so they keep their order.
func (s *session) send(ctx context.Context, m wire.Message) error {
	data, err := json.Marshal(m)
	if err != nil {
		s.h.log.Error("websocket message cannot be encoded", "conn_id", s.id, "call_id", m.CallID, "job_id", m.JobID, "error", err)
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, s.h.cfg.WriteTimeout)
	defer cancel()
	if err := s.conn.Write(ctx, ws.MessageText, data); err != nil {
		// A failed write closes the socket, and the read loop reports why.
		s.h.log.Debug("websocket write failed", "conn_id", s.id, "call_id", m.CallID, "job_id", m.JobID, "error", err)
		return err
	}
	return nil
}

// ping pings the client every PingInterval and closes the socket when a pong
// does not arrive within the interval.
func (s *session) ping(ctx context.Context) {
	defer s.wg.Done()
	interval := s.h.cfg.PingInterval
	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}

		pingCtx, cancel := context.WithTimeout(ctx, interval)
		err := s.conn.Ping(pingCtx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				s.h.log.Warn("client did not respond to ping: closing socket", "conn_id", s.id, "error", err)
				_ = s.conn.CloseNow()
			}
			return
		}
	}
}
