package websocket_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
)

var clientMessageSeeds = []string{
	`{"type":"submit","call_id":"c1","request":{"product_ids":["1","2"]},"idempotency_key":"k1","timeout_ms":60000}`,
	`{"type":"submit","call_id":"c1","request":{"product_ids":[]}}`,
	`{"type":"resume","call_id":"c2","job_id":"9f1c2b7a4d6e8f0a1b2c3d4e5f607182"}`,
	`{"type":"cancel","call_id":"c3"}`,
	`{"type":"cancel","call_id":"c3","job_id":"9f1c2b7a4d6e8f0a1b2c3d4e5f607182"}`,
	`{"type":"submit","call_id":"c4","request":null}`,
	`{"type":"submit","call_id":"c5","request":{},"timeout_ms":-1}`,
	`{"type":"submit","call_id":"c6","request":{},"idempotency_key":"a b"}`,
	`{"type":"submit","call_id":"` + strings.Repeat("x", wire.MaxCallIDLength+1) + `","request":{}}`,
	`{"type":"cancel","call_id":"a\u0000"}`,
	`{"type":"resume","call_id":"c7"}`,
	`{"type":"accepted","call_id":"c8","job_id":"x"}`,
	`{"type":"cancel","call_id":"c9","extra":true}`,
	`{"type":"cancel","call_id":"c9"} {"type":"cancel"}`,
	`{}`, `null`, `[]`, `"submit"`, ``, `{"type":`,
}

// FuzzDecodeClientMessage checks that wire.DecodeClientMessage, which reads
// every message a client sends to the handler, never panics, that it rejects
// with a 400 invalid-request problem, and that every message it accepts obeys
// the documented rules and decodes the same after encoding.
func FuzzDecodeClientMessage(f *testing.F) {
	for _, seed := range clientMessageSeeds {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		m, problem := wire.DecodeClientMessage(data)
		if problem != nil {
			if problem.Code != transport.CodeInvalidRequest || problem.Status != http.StatusBadRequest || problem.Detail == "" {
				t.Fatalf("got problem %+v, want a 400 invalid-request problem with a detail", problem)
			}
			return
		}

		checkClientMessage(t, m)
		encoded, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("accepted message %+v cannot be encoded: %v", m, err)
		}
		again, problem := wire.DecodeClientMessage(encoded)
		if problem != nil {
			t.Fatalf("re-encoded message %s is rejected: %v", encoded, problem)
		}
		if again.Type != m.Type || again.CallID != m.CallID || again.JobID != m.JobID ||
			again.IdempotencyKey != m.IdempotencyKey || again.TimeoutMs != m.TimeoutMs {
			t.Fatalf("got %+v after re-encoding, want %+v", again, m)
		}
	})
}

// checkClientMessage fails the test unless m obeys the rules of an accepted
// client message.
func checkClientMessage(t *testing.T, m wire.Message) {
	t.Helper()
	if m.CallID == "" || len(m.CallID) > wire.MaxCallIDLength || !printableASCII(m.CallID) {
		t.Fatalf("accepted call ID %q is empty, longer than %d bytes or not printable ASCII", m.CallID, wire.MaxCallIDLength)
	}

	switch m.Type {
	case wire.MsgSubmit:
		if len(m.Request) == 0 {
			t.Fatal("accepted submit has no request")
		}
		if m.TimeoutMs < 0 {
			t.Fatalf("accepted submit has negative timeout_ms %d", m.TimeoutMs)
		}
		if len(m.IdempotencyKey) > wire.MaxIdempotencyKeyLength || !printableASCII(m.IdempotencyKey) {
			t.Fatalf("accepted idempotency key %q is too long or not printable ASCII", m.IdempotencyKey)
		}
	case wire.MsgResume:
		if m.JobID == "" {
			t.Fatal("accepted resume has no job ID")
		}
	case wire.MsgCancel:
	default:
		t.Fatalf("accepted message type %q is not a client type", m.Type)
	}
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// FuzzDecodeServerMessage checks that wire.DecodeServerMessage, which reads
// every message the client receives, never panics and accepts only server
// types, results with a result and errors with a problem.
func FuzzDecodeServerMessage(f *testing.F) {
	for _, seed := range []string{
		`{"type":"accepted","call_id":"c1","job_id":"9f1c2b7a4d6e8f0a1b2c3d4e5f607182"}`,
		`{"type":"progress","call_id":"c1","job_id":"9f1c2b7a4d6e8f0a1b2c3d4e5f607182","progress":{"done":1,"total":2}}`,
		`{"type":"result","call_id":"c1","job_id":"9f1c2b7a4d6e8f0a1b2c3d4e5f607182","result":{"items":[]}}`,
		`{"type":"error","call_id":"c1","problem":{"type":"about:blank","title":"Job failed","code":"job-failed"}}`,
		`{"type":"result","call_id":"c1"}`,
		`{"type":"error","call_id":"c1"}`,
		`{"type":"progress","progress":null}`,
		`{"type":"submit","call_id":"c1","request":{}}`,
		`{}`, `null`, `[1]`, ``, `{"type":"result","result":`,
	} {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := wire.DecodeServerMessage(data)
		if err != nil {
			return
		}
		switch m.Type {
		case wire.MsgAccepted, wire.MsgProgress:
		case wire.MsgResult:
			if len(m.Result) == 0 {
				t.Fatal("accepted result message has no result")
			}
		case wire.MsgError:
			if m.Problem == nil {
				t.Fatal("accepted error message has no problem")
			}
		default:
			t.Fatalf("accepted message type %q is not a server type", m.Type)
		}
	})
}
