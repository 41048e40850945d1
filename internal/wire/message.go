package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/longhaul-go/longhaul/transport"
)

// WebSocket message types. A client sends submit, resume and cancel, and the
// server sends accepted, progress, result and error. Every server message except
// a connection-level error carries the call ID of the submit or resume that it
// responds to.
const (
	MsgSubmit   = "submit"   // client: run Request; optional IdempotencyKey and TimeoutMs
	MsgResume   = "resume"   // client: attach this call ID to the existing job JobID
	MsgCancel   = "cancel"   // client: cancel the job of CallID (or JobID)
	MsgAccepted = "accepted" // server: the call's job exists under JobID
	MsgProgress = "progress" // server: the job's Progress
	MsgResult   = "result"   // server: the job succeeded with Result
	MsgError    = "error"    // server: the call failed or was rejected, with Problem
)

// MaxCallIDLength is the maximum length of a call ID, in bytes.
const MaxCallIDLength = 128

// Message is one WebSocket text frame.
type Message struct {
	Type           string              `json:"type"`
	CallID         string              `json:"call_id,omitempty"`
	JobID          string              `json:"job_id,omitempty"`
	Request        json.RawMessage     `json:"request,omitempty"`
	IdempotencyKey string              `json:"idempotency_key,omitempty"`
	TimeoutMs      int64               `json:"timeout_ms,omitempty"` // the caller's remaining time, as Longhaul-Timeout
	Progress       *transport.Progress `json:"progress,omitempty"`
	Result         json.RawMessage     `json:"result,omitempty"`
	Problem        *transport.Problem  `json:"problem,omitempty"`
}

// DecodeClientMessage parses a message that a client sent and checks its form:
// one JSON object with no unknown fields, a known client type, a call ID of
// visible ASCII within MaxCallIDLength, a request on submit, a job ID on
// resume. The problem it returns names the field.
func DecodeClientMessage(data []byte) (Message, *transport.Problem) {
	var m Message
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Message{}, transport.InvalidRequest("message is not a valid JSON message object: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return m, transport.InvalidRequest("message has data after the JSON object: send one message per text frame")
	}

	if err := validateCallID(m.CallID); err != nil {
		return m, err
	}
	switch m.Type {
	case MsgSubmit:
		if len(m.Request) == 0 {
			return m, transport.InvalidRequest("submit message %q has no request: put the engine's request in field request", m.CallID)
		}
		if m.TimeoutMs < 0 {
			return m, transport.InvalidRequest("submit message %q has negative timeout_ms %d: send the remaining time in milliseconds, or omit it", m.CallID, m.TimeoutMs)
		}
		if err := ValidateIdempotencyKey(m.IdempotencyKey); err != nil {
			return m, err
		}
	case MsgResume:
		if m.JobID == "" {
			return m, transport.InvalidRequest("resume message %q has no job_id: send the ID from the accepted message", m.CallID)
		}
	case MsgCancel:
	default:
		return m, transport.InvalidRequest("message type %q is unknown: send submit, resume or cancel", m.Type)
	}
	return m, nil
}

func validateCallID(id string) *transport.Problem {
	if id == "" {
		return transport.InvalidRequest("message has no call_id: give every submit, resume and cancel a call ID unique on its socket")
	}
	if len(id) > MaxCallIDLength {
		return transport.InvalidRequest("call_id is %d bytes, over the limit of %d: use a shorter call ID", len(id), MaxCallIDLength)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return transport.InvalidRequest("call_id %q has a space, control or non-ASCII character at byte %d: use only visible ASCII", id, i)
		}
	}
	return nil
}

// DecodeServerMessage parses a message that a server sent, as a client receives it.
func DecodeServerMessage(data []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return Message{}, fmt.Errorf("wire: invalid message from server: %w", err)
	}
	switch m.Type {
	case MsgAccepted, MsgProgress:
	case MsgResult:
		if len(m.Result) == 0 {
			return m, fmt.Errorf("wire: result message for call %q has no result", m.CallID)
		}
	case MsgError:
		if m.Problem == nil {
			return m, fmt.Errorf("wire: error message for call %q has no problem", m.CallID)
		}
	default:
		return m, fmt.Errorf("wire: message type %q from server is unknown", m.Type)
	}
	return m, nil
}
