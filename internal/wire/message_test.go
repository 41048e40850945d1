package wire_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
)

func TestDecodeClientMessage(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		data string
		want wire.Message
	}{
		{
			name: "submit with every field",
			data: `{"type":"submit","call_id":"c1","request":{"product_ids":["1","2"]},"idempotency_key":"k1","timeout_ms":60000}`,
			want: wire.Message{Type: wire.MsgSubmit, CallID: "c1", Request: json.RawMessage(`{"product_ids":["1","2"]}`),
				IdempotencyKey: "k1", TimeoutMs: 60000},
		},
		{
			name: "submit with request only",
			data: `{"type":"submit","call_id":"c1","request":{}}`,
			want: wire.Message{Type: wire.MsgSubmit, CallID: "c1", Request: json.RawMessage(`{}`)},
		},
		{
			name: "submit with zero timeout",
			data: `{"type":"submit","call_id":"c1","request":[1],"timeout_ms":0}`,
			want: wire.Message{Type: wire.MsgSubmit, CallID: "c1", Request: json.RawMessage(`[1]`)},
		},
		{
			name: "submit with longest key",
			data: `{"type":"submit","call_id":"c1","request":{},"idempotency_key":"` + strings.Repeat("k", wire.MaxIdempotencyKeyLength) + `"}`,
			want: wire.Message{Type: wire.MsgSubmit, CallID: "c1", Request: json.RawMessage(`{}`),
				IdempotencyKey: strings.Repeat("k", wire.MaxIdempotencyKeyLength)},
		},
		{
			name: "resume",
			data: `{"type":"resume","call_id":"c2","job_id":"` + testJobID + `"}`,
			want: wire.Message{Type: wire.MsgResume, CallID: "c2", JobID: testJobID},
		},
		{
			name: "cancel",
			data: `{"type":"cancel","call_id":"c3"}`,
			want: wire.Message{Type: wire.MsgCancel, CallID: "c3"},
		},
		{
			name: "cancel with job ID",
			data: `{"type":"cancel","call_id":"c3","job_id":"` + testJobID + `"}`,
			want: wire.Message{Type: wire.MsgCancel, CallID: "c3", JobID: testJobID},
		},
		{
			name: "longest call ID",
			data: `{"type":"cancel","call_id":"` + strings.Repeat("c", wire.MaxCallIDLength) + `"}`,
			want: wire.Message{Type: wire.MsgCancel, CallID: strings.Repeat("c", wire.MaxCallIDLength)},
		},
		{
			name: "punctuation in call ID",
			data: `{"type":"cancel","call_id":"!~#{}[]\"\\"}`,
			want: wire.Message{Type: wire.MsgCancel, CallID: `!~#{}[]"\`},
		},
		{
			name: "white space around the object",
			data: " \n{\"type\":\"cancel\",\"call_id\":\"c3\"}\n ",
			want: wire.Message{Type: wire.MsgCancel, CallID: "c3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, p := wire.DecodeClientMessage([]byte(tt.data))
			require.Nil(t, p, "got problem %v, want none", p)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeClientMessageInvalid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		data       string
		wantDetail string
		wantCallID string // the call ID returned with the problem, so that the error message can name it
	}{
		{name: "empty", data: ``, wantDetail: "not a valid JSON message"},
		{name: "null", data: `null`, wantDetail: "no call_id"},
		{name: "array", data: `[]`, wantDetail: "not a valid JSON message"},
		{name: "string", data: `"submit"`, wantDetail: "not a valid JSON message"},
		{name: "cut off", data: `{"type":"cancel","call_id":"c1"`, wantDetail: "not a valid JSON message"},
		{name: "trailing object", data: `{"type":"cancel","call_id":"c1"} {"type":"cancel","call_id":"c2"}`, wantDetail: "after the JSON object", wantCallID: "c1"},
		{name: "trailing garbage", data: `{"type":"cancel","call_id":"c1"}x`, wantDetail: "after the JSON object", wantCallID: "c1"},
		{name: "unknown field", data: `{"type":"cancel","call_id":"c1","reason":"bored"}`, wantDetail: "reason"},
		{name: "wrong field type", data: `{"type":"submit","call_id":"c1","request":{},"timeout_ms":"60000"}`, wantDetail: "timeout_ms"},
		{name: "fractional timeout", data: `{"type":"submit","call_id":"c1","request":{},"timeout_ms":1.5}`, wantDetail: "timeout_ms"},
		{name: "no type", data: `{"call_id":"c1"}`, wantDetail: `type ""`, wantCallID: "c1"},
		{name: "server type", data: `{"type":"accepted","call_id":"c1","job_id":"` + testJobID + `"}`, wantDetail: `"accepted"`, wantCallID: "c1"},
		{name: "upper-case type", data: `{"type":"SUBMIT","call_id":"c1","request":{}}`, wantDetail: `"SUBMIT"`, wantCallID: "c1"},
		{name: "no call ID", data: `{"type":"cancel"}`, wantDetail: "no call_id"},
		{name: "empty call ID", data: `{"type":"submit","call_id":"","request":{}}`, wantDetail: "no call_id"},
		{name: "long call ID", data: `{"type":"cancel","call_id":"` + strings.Repeat("c", wire.MaxCallIDLength+1) + `"}`, wantDetail: "129 bytes, over the limit of 128"},
		{name: "space in call ID", data: `{"type":"cancel","call_id":"c 1"}`, wantDetail: "at byte 1"},
		{name: "control character in call ID", data: `{"type":"cancel","call_id":"c\u0000"}`, wantDetail: "at byte 1"},
		{name: "non-ASCII call ID", data: `{"type":"cancel","call_id":"cé"}`, wantDetail: "at byte 1"},
		{name: "submit without request", data: `{"type":"submit","call_id":"c1"}`, wantDetail: "no request", wantCallID: "c1"},
		{name: "submit with negative timeout", data: `{"type":"submit","call_id":"c1","request":{},"timeout_ms":-1}`, wantDetail: "negative timeout_ms -1", wantCallID: "c1"},
		{name: "submit with invalid key", data: `{"type":"submit","call_id":"c1","request":{},"idempotency_key":"a b"}`, wantDetail: "Idempotency-Key", wantCallID: "c1"},
		{
			name:       "submit with long key",
			data:       `{"type":"submit","call_id":"c1","request":{},"idempotency_key":"` + strings.Repeat("k", wire.MaxIdempotencyKeyLength+1) + `"}`,
			wantDetail: "over the limit of 255", wantCallID: "c1",
		},
		{name: "resume without job ID", data: `{"type":"resume","call_id":"c1"}`, wantDetail: "no job_id", wantCallID: "c1"},
		{name: "resume with empty job ID", data: `{"type":"resume","call_id":"c1","job_id":""}`, wantDetail: "no job_id", wantCallID: "c1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, p := wire.DecodeClientMessage([]byte(tt.data))
			requireInvalidRequest(t, p, tt.wantDetail)
			if tt.wantCallID != "" {
				assert.Equal(t, tt.wantCallID, got.CallID, "call ID returned with the problem")
			}
		})
	}
}

func TestDecodeServerMessage(t *testing.T) {
	t.Parallel()

	failed := transport.NewProblem(500, transport.CodeJobFailed, "engine stopped")
	tests := []struct {
		name string
		data string
		want wire.Message
	}{
		{
			name: "accepted",
			data: `{"type":"accepted","call_id":"c1","job_id":"` + testJobID + `"}`,
			want: wire.Message{Type: wire.MsgAccepted, CallID: "c1", JobID: testJobID},
		},
		{
			name: "progress",
			data: `{"type":"progress","call_id":"c1","job_id":"` + testJobID + `","progress":{"done":1,"total":2}}`,
			want: wire.Message{Type: wire.MsgProgress, CallID: "c1", JobID: testJobID, Progress: &transport.Progress{Done: 1, Total: 2}},
		},
		{
			name: "result",
			data: `{"type":"result","call_id":"c1","job_id":"` + testJobID + `","result":{"items":[]}}`,
			want: wire.Message{Type: wire.MsgResult, CallID: "c1", JobID: testJobID, Result: json.RawMessage(`{"items":[]}`)},
		},
		{
			name: "error",
			data: `{"type":"error","call_id":"c1","job_id":"` + testJobID + `","problem":` + mustMarshal(t, failed) + `}`,
			want: wire.Message{Type: wire.MsgError, CallID: "c1", JobID: testJobID, Problem: failed},
		},
		{
			name: "connection-level error",
			data: `{"type":"error","problem":{"code":"invalid-request"}}`,
			want: wire.Message{Type: wire.MsgError, Problem: &transport.Problem{Code: transport.CodeInvalidRequest}},
		},
		{
			// A newer server may add members; older clients ignore them.
			name: "unknown member",
			data: `{"type":"accepted","call_id":"c1","job_id":"` + testJobID + `","queue_position":4}`,
			want: wire.Message{Type: wire.MsgAccepted, CallID: "c1", JobID: testJobID},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.DecodeServerMessage([]byte(tt.data))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeServerMessageInvalid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		data string
		want string // part of the error
	}{
		{name: "empty", data: ``, want: "invalid message"},
		{name: "array", data: `[1]`, want: "invalid message"},
		{name: "cut off", data: `{"type":"result","result":`, want: "invalid message"},
		{name: "trailing data", data: `{"type":"accepted","call_id":"c1"} {}`, want: "invalid message"},
		{name: "null", data: `null`, want: `type ""`},
		{name: "no type", data: `{"call_id":"c1"}`, want: `type ""`},
		{name: "client type", data: `{"type":"submit","call_id":"c1","request":{}}`, want: `type "submit"`},
		{name: "unknown type", data: `{"type":"hello","call_id":"c1"}`, want: `type "hello"`},
		{name: "result without result", data: `{"type":"result","call_id":"c1","job_id":"` + testJobID + `"}`, want: "has no result"},
		{name: "error without problem", data: `{"type":"error","call_id":"c1"}`, want: "has no problem"},
		{name: "error with null problem", data: `{"type":"error","call_id":"c1","problem":null}`, want: "has no problem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := wire.DecodeServerMessage([]byte(tt.data))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want, "error")
		})
	}
}

// TestMessageRoundTrip checks that what one side encodes, the other side decodes
// to the same message.
func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()

	clientMessages := []wire.Message{
		{Type: wire.MsgSubmit, CallID: "c1", Request: json.RawMessage(`{"numbers":[1,2]}`), IdempotencyKey: "k1", TimeoutMs: 1500},
		{Type: wire.MsgResume, CallID: "c1", JobID: testJobID},
		{Type: wire.MsgCancel, CallID: "c1"},
	}
	for _, m := range clientMessages {
		got, p := wire.DecodeClientMessage([]byte(mustMarshal(t, m)))
		require.Nil(t, p, "%s message: got problem %v, want none", m.Type, p)
		assert.Equal(t, m, got, "%s message after a round trip", m.Type)
	}

	serverMessages := []wire.Message{
		{Type: wire.MsgAccepted, CallID: "c1", JobID: testJobID},
		{Type: wire.MsgProgress, CallID: "c1", JobID: testJobID, Progress: &transport.Progress{Done: 3, Total: 9}},
		{Type: wire.MsgResult, CallID: "c1", JobID: testJobID, Result: json.RawMessage(`{"sum":3}`)},
		{Type: wire.MsgError, CallID: "c1", Problem: transport.InvalidRequest("numbers is empty")},
	}
	for _, m := range serverMessages {
		got, err := wire.DecodeServerMessage([]byte(mustMarshal(t, m)))
		require.NoError(t, err, "%s message", m.Type)
		assert.Equal(t, m, got, "%s message after a round trip", m.Type)
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
