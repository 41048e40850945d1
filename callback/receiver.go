package callback

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// callParam is the query parameter of a callback URL that names the call
// waiting for the delivery. The client adds it to its PublicURL.
const callParam = "longhaul_call"

// defaultMaxDeliveryBytes is the default limit of a delivery's body. A
// delivery carries the job's result, so it is far above the limit of a
// submitted request.
const defaultMaxDeliveryBytes = 64 << 20

// Receiver is the http.Handler that receives the deliveries of a Client's
// calls. Each call's callback URL is the client's PublicURL with the query
// parameter longhaul_call naming the call, so the Receiver accepts POST on
// any path. It checks every delivery against the call's own secret and hands the
// result to the waiting Do:
//
//   - 200 when the delivery is valid, also for a repeat of one already received.
//   - 401 when its Standard Webhooks signature does not verify; the delivery is ignored.
//   - 410 Gone for a call that is not waiting (it has ended, or the client
//     restarted), which makes the server stop retrying. The result stays
//     readable by job ID.
//   - 400, 405 or 413 for a request that is not a delivery.
//
// Client.Receiver returns it. Mount it yourself only when Config.PublicURL is
// set and Config.Listen is empty. A Receiver that no Client made waits for no
// call, so it responds to every delivery with 410 Gone.
type Receiver struct {
	maxBytes int64
	log      *slog.Logger

	mu    sync.Mutex
	calls map[string]*pendingCall // by the token in the callback URL
}

var _ http.Handler = (*Receiver)(nil)

// pendingCall is a call of Do that waits for its delivery.
type pendingCall struct {
	token  string
	secret string

	mu        sync.Mutex
	jobID     string            // empty until the submit's response arrives
	delivered chan *wire.Status // buffered: the first valid delivery
}

func newReceiver(maxBytes int64, logger *slog.Logger) *Receiver {
	if maxBytes <= 0 {
		maxBytes = defaultMaxDeliveryBytes
	}
	return &Receiver{maxBytes: maxBytes, log: logger, calls: make(map[string]*pendingCall)}
}

// register adds a call that waits for a delivery signed with secret and
// returns it; unregister removes it.
func (r *Receiver) register(secret string) *pendingCall {
	call := &pendingCall{token: jobs.NewID(), secret: secret, delivered: make(chan *wire.Status, 1)}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[call.token] = call
	return call
}

func (r *Receiver) unregister(call *pendingCall) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.calls, call.token)
}

// logger returns the receiver's logger, a silent one for a zero Receiver.
func (r *Receiver) logger() *slog.Logger {
	if r.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.log
}

func (r *Receiver) lookup(token string) *pendingCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[token]
}

// setJobID records the job that the call's submit created, so that a
// delivery of another job is refused.
func (c *pendingCall) setJobID(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.jobID = id
}

func (c *pendingCall) expectedJobID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.jobID
}

// ServeHTTP receives one delivery.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.reject(w, req, "", transport.NewProblem(http.StatusMethodNotAllowed, transport.CodeMethodNotAllowed,
			"method %s is not allowed: deliveries are POST requests", req.Method))
		return
	}

	call := r.lookup(req.URL.Query().Get(callParam))
	if call == nil {
		p := transport.NewProblem(http.StatusGone, transport.CodeNotFound,
			"no call is waiting for this delivery: it has ended or the client restarted; the result stays readable by job ID")
		p.Title = "Gone"
		r.reject(w, req, "", p)
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.maxBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		r.reject(w, req, "", transport.NewProblem(http.StatusRequestEntityTooLarge, transport.CodeTooLarge,
			"delivery body is over the receiver's limit of %d bytes: raise Config.MaxDeliveryBytes", r.maxBytes))
		return
	case err != nil:
		r.reject(w, req, "", transport.InvalidRequest("delivery body could not be read: %v", err))
		return
	}

	if err := Verify(call.secret, req.Header, body, 0); err != nil {
		p := transport.NewProblem(http.StatusUnauthorized, transport.CodeUnauthorized, "delivery rejected: %v", err)
		r.reject(w, req, call.expectedJobID(), p)
		return
	}

	st, p := checkDelivery(req.Header.Get(HeaderWebhookID), body, call.expectedJobID())
	if p != nil {
		r.reject(w, req, call.expectedJobID(), p)
		return
	}

	select {
	case call.delivered <- st:
		r.logger().Debug("callback received", "job_id", st.ID, "state", st.State)
	default:
		// A repeat of a delivery already handed over: acknowledge it again.
	}
	w.WriteHeader(http.StatusOK)
}

// checkDelivery decodes a verified delivery's body and checks that it is the
// final status of the expected job (any job while expected is empty) and that
// its webhook-id names that job.
func checkDelivery(webhookIDValue string, body []byte, expected string) (*wire.Status, *transport.Problem) {
	st, err := wire.DecodeStatus(body)
	if err != nil {
		return nil, transport.InvalidRequest("delivery body is not a job status document: %v", err)
	}
	if !st.State.Finished() {
		return nil, transport.InvalidRequest("delivery of job %s has state %q: deliveries carry finished jobs only", st.ID, st.State)
	}
	if expected != "" && st.ID != expected {
		return nil, transport.InvalidRequest("delivery is of job %s, but this call waits for job %s", st.ID, expected)
	}
	if want := webhookID(st.ID); webhookIDValue != want {
		return nil, transport.InvalidRequest("delivery has %s %q, want %q for job %s",
			HeaderWebhookID, truncate(webhookIDValue, 80), want, st.ID)
	}
	return st, nil
}

// reject logs p and writes it as the response.
func (r *Receiver) reject(w http.ResponseWriter, req *http.Request, jobID string, p *transport.Problem) {
	p.JobID = jobID
	r.logger().Warn("callback delivery rejected",
		"job_id", jobID, "status", p.Status, "detail", p.Detail, "remote_addr", req.RemoteAddr)
	wire.WriteProblem(w, p)
}

// callbackURL returns publicURL with the call's token as a query parameter.
func callbackURL(publicURL, token string) string {
	sep := "?"
	if strings.Contains(publicURL, "?") {
		sep = "&"
	}
	return fmt.Sprintf("%s%s%s=%s", publicURL, sep, callParam, token)
}
