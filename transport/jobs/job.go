package jobs

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/longhaul-go/longhaul/transport"
)

// State is a job's stage in its lifecycle.
type State string

// Job states. A job moves from queued to running to one of the three final
// states. A running job whose server shuts down or crashes goes back to queued.
const (
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateCanceled  State = "canceled"
)

// Finished reports whether s is a final state.
func (s State) Finished() bool {
	return s == StateSucceeded || s == StateFailed || s == StateCanceled
}

// Job is one unit of work and all the state that the server stores for it.
// Stores keep jobs as values: a *Job returned by a Store or the Runtime is a copy
// that the caller may read and change freely.
type Job struct {
	ID       string             `json:"id"`
	Owner    string             `json:"owner,omitempty"` // the owner from the authorization hook; other owners get not-found
	State    State              `json:"state"`
	Version  uint64             `json:"version"` // rises by one on every stored change
	Request  json.RawMessage    `json:"request"`
	Result   json.RawMessage    `json:"result,omitempty"`
	Problem  *transport.Problem `json:"problem,omitempty"` // set when the job failed or was canceled
	Progress transport.Progress `json:"progress"`

	IdempotencyKey string `json:"idempotency_key,omitempty"`
	RequestHash    string `json:"request_hash,omitempty"` // SHA-256 of Request, to detect a key reused with another body

	Deadline   time.Time `json:"deadline,omitempty"` // the caller's deadline; zero means none
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	StartedAt  time.Time `json:"started_at,omitempty"`
	FinishedAt time.Time `json:"finished_at,omitempty"`
	ExpiresAt  time.Time `json:"expires_at,omitempty"` // when a finished job may be deleted

	Attempts        int       `json:"attempts"`              // how many times a worker started the job
	LeaseOwner      string    `json:"lease_owner,omitempty"` // the worker running the job
	LeaseUntil      time.Time `json:"lease_until,omitempty"` // after this, another worker may take the job over
	CancelRequested bool      `json:"cancel_requested,omitempty"`

	Callback *Callback `json:"callback,omitempty"` // the result's delivery, for callback jobs
}

// Clone returns a deep copy of j.
func (j *Job) Clone() *Job {
	if j == nil {
		return nil
	}
	c := *j
	c.Request = append(json.RawMessage(nil), j.Request...)
	if j.Result != nil {
		c.Result = append(json.RawMessage(nil), j.Result...)
	}
	if j.Problem != nil {
		p := *j.Problem
		c.Problem = &p
	}
	if j.Callback != nil {
		cb := *j.Callback
		c.Callback = &cb
	}
	return &c
}

// DeliveryState is the stage of a callback delivery.
type DeliveryState string

// Delivery states.
const (
	DeliveryPending   DeliveryState = "pending"   // waiting for the job to finish or for the next attempt
	DeliveryDelivered DeliveryState = "delivered" // the receiver responded with 2xx
	DeliveryDead      DeliveryState = "dead"      // every attempt failed, and the result stays readable by ID
)

// Callback is the delivery of a job's result to a URL the client gave.
type Callback struct {
	URL         string        `json:"url"`
	Secret      string        `json:"secret"` // the Standard Webhooks signing secret, "whsec_" and base64
	State       DeliveryState `json:"state"`
	Attempts    int           `json:"attempts"`
	NextAttempt time.Time     `json:"next_attempt,omitempty"`
	LastError   string        `json:"last_error,omitempty"`
	DeliveredAt time.Time     `json:"delivered_at,omitempty"`
}

// NewID returns a new unguessable job ID: 128 random bits as 32 lowercase hex digits.
func NewID() string {
	var b [16]byte
	// crypto/rand.Read never returns an error, because it panics if the system's
	// source fails.
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ValidID reports whether id has the form of an ID from NewID.
func ValidID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
