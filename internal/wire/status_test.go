package wire_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

const testJobID = "9f1c2b7a4d6e8f0a1b2c3d4e5f607182"

func TestDecodeStatus(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, s *wire.Status)
	}{
		{
			name: "queued",
			body: `{"id":"` + testJobID + `","state":"queued","progress":{"done":0,"total":0},
				"created_at":"2026-12-04T20:00:00Z","updated_at":"2026-12-04T20:00:00Z"}`,
			check: func(t *testing.T, s *wire.Status) {
				assert.Equal(t, jobs.StateQueued, s.State, "state")
				assert.True(t, s.CreatedAt.Equal(testNow), "got created_at %v, want %v", s.CreatedAt, testNow)
				assert.Nil(t, s.FinishedAt, "finished_at of a queued job")
			},
		},
		{
			name: "running with progress",
			body: `{"id":"` + testJobID + `","state":"running","progress":{"done":2,"total":5}}`,
			check: func(t *testing.T, s *wire.Status) {
				assert.Equal(t, transport.Progress{Done: 2, Total: 5}, s.Progress, "progress")
			},
		},
		{
			name: "succeeded",
			body: `{"id":"` + testJobID + `","state":"succeeded","progress":{"done":3,"total":3},
				"finished_at":"2026-12-04T20:00:07Z","expires_at":"2026-12-05T20:00:07Z","result":{"items":[]}}`,
			check: func(t *testing.T, s *wire.Status) {
				assert.JSONEq(t, `{"items":[]}`, string(s.Result), "result")
				require.NotNil(t, s.FinishedAt, "finished_at")
				assert.True(t, s.FinishedAt.Equal(testNow.Add(7*time.Second)), "got finished_at %v", *s.FinishedAt)
				require.NotNil(t, s.ExpiresAt, "expires_at")
			},
		},
		{
			// A result type may encode as null, for example a nil slice.
			name: "succeeded with null result",
			body: `{"id":"` + testJobID + `","state":"succeeded","result":null}`,
			check: func(t *testing.T, s *wire.Status) {
				assert.Equal(t, "null", string(s.Result), "result")
			},
		},
		{
			name: "failed",
			body: `{"id":"` + testJobID + `","state":"failed","problem":{"type":"x","title":"Job failed","code":"job-failed","detail":"boom"}}`,
			check: func(t *testing.T, s *wire.Status) {
				require.NotNil(t, s.Problem, "problem")
				assert.Equal(t, transport.CodeJobFailed, s.Problem.Code, "problem code")
				assert.Equal(t, "boom", s.Problem.Detail, "problem detail")
			},
		},
		{
			name: "canceled with problem",
			body: `{"id":"` + testJobID + `","state":"canceled","problem":{"code":"job-canceled"}}`,
			check: func(t *testing.T, s *wire.Status) {
				require.NotNil(t, s.Problem, "problem")
				assert.Equal(t, transport.CodeJobCanceled, s.Problem.Code, "problem code")
			},
		},
		{
			name: "canceled without problem",
			body: `{"id":"` + testJobID + `","state":"canceled"}`,
			check: func(t *testing.T, s *wire.Status) {
				assert.Nil(t, s.Problem, "problem")
			},
		},
		{
			name: "callback",
			body: `{"id":"` + testJobID + `","state":"running",
				"callback":{"url":"https://client.example/cb","state":"pending","attempts":2,"last_error":"503"}}`,
			check: func(t *testing.T, s *wire.Status) {
				want := &wire.CallbackStatus{URL: "https://client.example/cb", State: jobs.DeliveryPending, Attempts: 2, LastError: "503"}
				assert.Equal(t, want, s.Callback, "callback")
			},
		},
		{
			// A newer server may add members; older clients ignore them.
			name: "unknown member",
			body: `{"id":"` + testJobID + `","state":"queued","priority":3}`,
			check: func(t *testing.T, s *wire.Status) {
				assert.Equal(t, jobs.StateQueued, s.State, "state")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := wire.DecodeStatus([]byte(tt.body))
			require.NoError(t, err)
			assert.Equal(t, testJobID, s.ID, "id")
			tt.check(t, s)
		})
	}
}

func TestDecodeStatusInvalid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		body string
		want string // part of the error
	}{
		{name: "empty", body: ``, want: "invalid job status"},
		{name: "null", body: `null`, want: "invalid id"},
		{name: "array", body: `[]`, want: "invalid job status"},
		{name: "cut off", body: `{"id":"` + testJobID + `","state":"que`, want: "invalid job status"},
		{name: "trailing data", body: `{"id":"` + testJobID + `","state":"queued"} {}`, want: "invalid job status"},
		{name: "no id", body: `{"state":"queued"}`, want: "invalid id"},
		{name: "short id", body: `{"id":"9f1c2b7a","state":"queued"}`, want: "invalid id"},
		{name: "upper-case id", body: `{"id":"9F1C2B7A4D6E8F0A1B2C3D4E5F607182","state":"queued"}`, want: "invalid id"},
		{name: "path in id", body: `{"id":"../../run/aaaaaaaaaaaaaaaaaaaaaaaaaa","state":"queued"}`, want: "invalid id"},
		{name: "numeric id", body: `{"id":12,"state":"queued"}`, want: "invalid job status"},
		{name: "no state", body: `{"id":"` + testJobID + `"}`, want: "unknown state"},
		{name: "unknown state", body: `{"id":"` + testJobID + `","state":"exploded"}`, want: "unknown state"},
		{name: "upper-case state", body: `{"id":"` + testJobID + `","state":"QUEUED"}`, want: "unknown state"},
		{name: "succeeded without result", body: `{"id":"` + testJobID + `","state":"succeeded"}`, want: "no result"},
		{name: "failed without problem", body: `{"id":"` + testJobID + `","state":"failed"}`, want: "no problem"},
		{name: "failed with null problem", body: `{"id":"` + testJobID + `","state":"failed","problem":null}`, want: "no problem"},
		{name: "invalid time", body: `{"id":"` + testJobID + `","state":"queued","created_at":"yesterday"}`, want: "invalid job status"},
		{name: "fractional progress", body: `{"id":"` + testJobID + `","state":"running","progress":{"done":1.5}}`, want: "invalid job status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := wire.DecodeStatus([]byte(tt.body))
			require.Error(t, err, "got status %+v, want an error", s)
			assert.Nil(t, s, "status")
			assert.Contains(t, err.Error(), tt.want, "error")
		})
	}
}

func TestStatusOf(t *testing.T) {
	t.Parallel()

	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	job := &jobs.Job{
		ID:             testJobID,
		Owner:          "tenant-secret-owner",
		State:          jobs.StateSucceeded,
		Version:        7,
		Request:        json.RawMessage(`{"numbers":[1,2]}`),
		Result:         json.RawMessage(`{"sum":3}`),
		Progress:       transport.Progress{Done: 2, Total: 2},
		IdempotencyKey: "idem-key-private",
		RequestHash:    "hash-private",
		Deadline:       testNow.Add(time.Minute),
		CreatedAt:      testNow,
		UpdatedAt:      testNow.Add(2 * time.Second),
		StartedAt:      testNow.Add(time.Second),
		FinishedAt:     testNow.Add(2 * time.Second),
		ExpiresAt:      testNow.Add(24 * time.Hour),
		LeaseOwner:     "worker-private",
		Callback: &jobs.Callback{
			URL:         "https://client.example/callbacks",
			Secret:      secret,
			State:       jobs.DeliveryPending,
			Attempts:    3,
			NextAttempt: testNow.Add(time.Minute),
			LastError:   "receiver responded 503 Service Unavailable",
		},
	}

	s := wire.StatusOf(job)
	assert.Equal(t, testJobID, s.ID, "id")
	assert.Equal(t, jobs.StateSucceeded, s.State, "state")
	assert.Equal(t, job.Progress, s.Progress, "progress")
	assert.Equal(t, `{"sum":3}`, string(s.Result), "result")
	assert.Nil(t, s.Problem, "problem")
	assert.True(t, s.CreatedAt.Equal(job.CreatedAt), "created_at")
	assert.True(t, s.UpdatedAt.Equal(job.UpdatedAt), "updated_at")
	require.NotNil(t, s.FinishedAt, "finished_at")
	assert.True(t, s.FinishedAt.Equal(job.FinishedAt), "finished_at")
	require.NotNil(t, s.ExpiresAt, "expires_at")
	assert.True(t, s.ExpiresAt.Equal(job.ExpiresAt), "expires_at")
	wantCallback := &wire.CallbackStatus{URL: "https://client.example/callbacks", State: jobs.DeliveryPending,
		Attempts: 3, LastError: "receiver responded 503 Service Unavailable"}
	assert.Equal(t, wantCallback, s.Callback, "callback")

	job.FinishedAt = testNow.Add(time.Hour)
	assert.True(t, s.FinishedAt.Equal(testNow.Add(2*time.Second)), "finished_at must not follow later changes of the job")

	body, err := json.Marshal(s)
	require.NoError(t, err)
	for _, private := range []string{secret, "whsec_", `"secret"`, "tenant-secret-owner", "idem-key-private", "hash-private",
		"worker-private", `"owner"`, `"request"`, `"version"`, `"deadline"`, `"next_attempt"`} {
		assert.NotContains(t, string(body), private, "status document")
	}

	decoded, err := wire.DecodeStatus(body)
	require.NoError(t, err, "status document %s", body)
	again, err := json.Marshal(decoded)
	require.NoError(t, err)
	assert.JSONEq(t, string(body), string(again), "status document after a round trip")
}

func TestStatusOfUnfinished(t *testing.T) {
	t.Parallel()

	job := &jobs.Job{ID: testJobID, State: jobs.StateQueued, CreatedAt: testNow, UpdatedAt: testNow}
	s := wire.StatusOf(job)
	assert.Nil(t, s.FinishedAt, "finished_at of a queued job")
	assert.Nil(t, s.ExpiresAt, "expires_at of a queued job")
	assert.Nil(t, s.Callback, "callback of a job without one")

	body, err := json.Marshal(s)
	require.NoError(t, err)
	for _, member := range []string{"finished_at", "expires_at", "result", "problem", "callback"} {
		assert.NotContains(t, string(body), `"`+member+`"`, "status document of a queued job")
	}
	assert.Contains(t, string(body), `"progress":{"done":0,"total":0}`, "status document of a queued job")
}

func TestStatusOfFailed(t *testing.T) {
	t.Parallel()

	problem := transport.NewProblem(http.StatusInternalServerError, transport.CodeJobFailed, "engine stopped")
	job := &jobs.Job{ID: testJobID, State: jobs.StateFailed, Problem: problem, CreatedAt: testNow, UpdatedAt: testNow,
		FinishedAt: testNow, ExpiresAt: testNow.Add(time.Hour),
		Callback: &jobs.Callback{URL: "https://client.example/cb", Secret: "whsec_c2VjcmV0", State: jobs.DeliveryDead, Attempts: 40}}

	body, err := json.Marshal(wire.StatusOf(job))
	require.NoError(t, err)
	assert.False(t, strings.Contains(string(body), "whsec_"), "status document %s contains the callback secret", body)

	s, err := wire.DecodeStatus(body)
	require.NoError(t, err)
	assert.Equal(t, problem, s.Problem, "problem")
	assert.Equal(t, jobs.DeliveryDead, s.Callback.State, "callback state")
	assert.Equal(t, 40, s.Callback.Attempts, "callback attempts")
}
