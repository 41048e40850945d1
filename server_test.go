package longhaul_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport"
)

// startTestServer serves the demo catalogue with the given per-item delay
// under base and returns the server's URL including base.
func startTestServer(t *testing.T, base string, itemDelay time.Duration) string {
	t.Helper()
	cfg := testServerConfig()
	cfg.BasePath = base
	srv := longhaul.NewServer(&lookup.Engine{Source: lookup.DefaultDemo(), ItemDelay: itemDelay}, cfg)
	server := httptest.NewServer(srv)
	t.Cleanup(func() {
		server.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return server.URL + base
}

// testResponse is a response's status, header and decoded body. The body is
// decoded into problem when its media type is application/problem+json, and
// into body otherwise.
type testResponse struct {
	status  int
	header  http.Header
	problem transport.Problem
	body    map[string]any
}

// sendRequest sends one request with http.DefaultClient and decodes the response.
func sendRequest(t *testing.T, method, url, body string, header map[string]string) testResponse {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	got := testResponse{status: resp.StatusCode, header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		require.NoError(t, json.Unmarshal(data, &got.problem), "problem body %s", data)
	} else if len(data) > 0 {
		require.NoError(t, json.Unmarshal(data, &got.body), "body %s", data)
	}
	return got
}

func TestServerCallbackSecretWithoutURL(t *testing.T) {
	url := startTestServer(t, "", 0)

	got := sendRequest(t, http.MethodPost, url+"/jobs", `{"product_ids":["1"]}`,
		map[string]string{"Longhaul-Callback-Secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})

	assert.Equal(t, http.StatusBadRequest, got.status)
	assert.Equal(t, transport.CodeInvalidRequest, got.problem.Code)
	assert.Contains(t, got.problem.Detail, "Longhaul-Callback-Url", "detail names the missing header")
	assert.NotContains(t, got.problem.Detail, "does not deliver callbacks")
}

func TestServerUnknownRouteProblem(t *testing.T) {
	url := startTestServer(t, "/api", 0)
	root := strings.TrimSuffix(url, "/api")

	for _, path := range []string{"/api/nope", "/elsewhere", "/"} {
		got := sendRequest(t, http.MethodGet, root+path, "", nil)
		assert.Equal(t, http.StatusNotFound, got.status, "status of %s", path)
		assert.Equal(t, transport.CodeNotFound, got.problem.Code, "code of %s", path)
		assert.Equal(t, "Not found", got.problem.Title, "title of %s", path)
		assert.Contains(t, got.problem.Detail, "/api/jobs", "detail of %s names the routes", path)
	}
}

func TestServerCancelRunningJobMarked(t *testing.T) {
	url := startTestServer(t, "", 5*time.Second)

	submitted := sendRequest(t, http.MethodPost, url+"/jobs", `{"product_ids":["1","2"]}`, nil)
	require.Equal(t, http.StatusAccepted, submitted.status)
	id, _ := submitted.body["id"].(string)
	require.NotEmpty(t, id)

	// Wait until a worker has started the job, so the cancel cannot end it at once.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := sendRequest(t, http.MethodGet, url+"/jobs/"+id, "", nil)
		if st.body["state"] == "running" {
			break
		}
		require.True(t, time.Now().Before(deadline), "job %s did not start within 5 s", id)
		time.Sleep(10 * time.Millisecond)
	}

	got := sendRequest(t, http.MethodDelete, url+"/jobs/"+id, "", nil)
	require.Equal(t, http.StatusOK, got.status)
	if got.body["state"] == "running" {
		assert.Equal(t, true, got.body["cancel_requested"], "cancel_requested of a running job after DELETE")
	} else {
		assert.Equal(t, "canceled", got.body["state"], "state after DELETE")
	}
}

func TestServerRejectsNullAndArrayBodies(t *testing.T) {
	url := startTestServer(t, "", 0)

	for body, want := range map[string]string{
		"null":                "JSON null",
		`["1","2"]`:           "must be a JSON object",
		`{"product_ids":"1"}`: `field "product_ids" must be of JSON type array`,
	} {
		for _, path := range []string{"/run", "/jobs"} {
			got := sendRequest(t, http.MethodPost, url+path, body, nil)
			assert.Equal(t, http.StatusBadRequest, got.status, "status of %s with %s", path, body)
			assert.Contains(t, got.problem.Detail, want, "detail of %s with %s", path, body)
		}
	}
}

func TestServerDuplicateIdempotencyKeys(t *testing.T) {
	url := startTestServer(t, "", 0)

	req, err := http.NewRequest(http.MethodPost, url+"/jobs", strings.NewReader(`{"product_ids":["1"]}`))
	require.NoError(t, err)
	req.Header.Add("Idempotency-Key", "key-a")
	req.Header.Add("Idempotency-Key", "key-b")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	var p transport.Problem
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, p.Detail, "2 Idempotency-Key headers")
}
