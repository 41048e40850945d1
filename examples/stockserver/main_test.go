package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/longhaul-go/longhaul/internal/testutil"
	"github.com/longhaul-go/longhaul/lookup"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer that the server's goroutines may write to
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a stockserver started by startServer.
type server struct {
	url    string
	log    *syncBuffer
	client *http.Client
	stop   func() int // cancels run's context and returns its exit status
}

// startServer runs the program with args plus -addr 127.0.0.1:0 and waits
// until it listens. The test fails when run exits first.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()

	ctx, cancel := context.WithCancel(context.Background())
	log := &syncBuffer{}
	listening := make(chan net.Addr, 1)
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), log, func(a net.Addr) { listening <- a })
	}()

	transport := &http.Transport{}
	s := &server{log: log, client: &http.Client{Transport: transport, Timeout: 10 * time.Second}}
	var once sync.Once
	var status int
	s.stop = func() int {
		once.Do(func() {
			cancel()
			status = <-exited
			transport.CloseIdleConnections()
		})
		return status
	}
	t.Cleanup(func() { s.stop() })

	select {
	case addr := <-listening:
		s.url = "http://" + addr.String()
	case code := <-exited:
		t.Fatalf("stockserver exited with status %d before it listened; log:\n%s", code, log)
	case <-time.After(10 * time.Second):
		t.Fatalf("stockserver did not listen within 10 s; log:\n%s", log)
	}
	return s
}

func (s *server) lookup(t *testing.T, ids ...string) lookup.Result {
	t.Helper()

	body, err := json.Marshal(lookup.Request{ProductIDs: ids})
	require.NoError(t, err)
	resp, err := s.client.Post(s.url+"/run", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "POST /run status")

	var res lookup.Result
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&res))
	return res
}

func TestServerSakilaHealthAndLookup(t *testing.T) {
	dir := testutil.SakilaDir(t)
	s := startServer(t,
		"-inventory", filepath.Join(dir, "stock.csv"),
		"-products", filepath.Join(dir, "products.csv"),
		"-log-format", "json")

	resp, err := s.client.Get(s.url + "/healthz")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "GET /healthz status")
	assert.Equal(t, "ok\n", string(body), "GET /healthz body")

	res := s.lookup(t, "1", "14", "1001")
	require.Len(t, res.Items, 3)
	assert.True(t, res.Items[0].Known, "product 1 known")
	assert.Equal(t, 7, res.Items[0].Quantity, "product 1 quantity")
	assert.True(t, res.Items[1].Known, "product 14 known")
	assert.Equal(t, 0, res.Items[1].Quantity, "product 14 quantity")
	assert.False(t, res.Items[2].Known, "product 1001 known")

	assert.Equal(t, exitOK, s.stop(), "exit status after shutdown")
	log := s.log.String()
	assert.Contains(t, log, `"msg":"inventory loaded"`)
	assert.Contains(t, log, `"products":1000`)
	assert.Contains(t, log, `"msg":"listening"`)
	assert.Contains(t, log, `"msg":"stockserver stopped"`)
}

func TestServerDemoLogsJobs(t *testing.T) {
	s := startServer(t)

	resp, err := s.client.Post(s.url+"/jobs", "application/json", strings.NewReader(`{"product_ids":["1","2"]}`))
	require.NoError(t, err)
	var status struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&status)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "POST /jobs status")
	require.NotEmpty(t, status.ID, "job ID in the status document")

	resp, err = s.client.Get(s.url + "/jobs/" + status.ID + "?wait=5")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "GET /jobs/{id} status")

	assert.Equal(t, exitOK, s.stop(), "exit status after shutdown")
	log := s.log.String()
	assert.Contains(t, log, `source="demo catalogue (IDs 1 to 1000)" products=1000`)
	assert.Contains(t, log, `msg="job started" job_id=`+status.ID)
	assert.Contains(t, log, `msg="job finished" job_id=`+status.ID)
}

func TestServerShutdownEndsLongPoll(t *testing.T) {
	// A job of 20 s, a shutdown bound of 300 ms: the long-poll must end at
	// once, and the job cannot finish in time.
	s := startServer(t, "-item-delay", "2s", "-shutdown-timeout", "300ms")

	resp, err := s.client.Post(s.url+"/jobs", "application/json",
		strings.NewReader(`{"product_ids":["1","2","3","4","5","6","7","8","9","10"]}`))
	require.NoError(t, err)
	resp.Body.Close()
	location := resp.Header.Get("Location")
	require.NotEmpty(t, location, "Location of the job")

	polled := make(chan int, 1)
	go func() {
		resp, err := s.client.Get(s.url + location + "?wait=30")
		if err != nil {
			polled <- 0
			return
		}
		resp.Body.Close()
		polled <- resp.StatusCode
	}()
	time.Sleep(100 * time.Millisecond) // let the long-poll reach the server

	start := time.Now()
	status := s.stop()
	select {
	case code := <-polled:
		assert.Equal(t, http.StatusOK, code, "long-poll status at shutdown")
	case <-time.After(5 * time.Second):
		t.Fatal("the long-poll did not end within 5 s of the shutdown")
	}
	assert.Less(t, time.Since(start), 5*time.Second, "shutdown duration")
	assert.Equal(t, exitFailure, status, "exit status when jobs outlast the shutdown bound")
	assert.Contains(t, s.log.String(), "did not finish within the shutdown timeout")
}

func TestHealthDraining(t *testing.T) {
	h := &health{}
	h.draining.Store(true)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))

	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "status while draining")
	assert.Equal(t, "shutting down\n", rec.Body.String(), "body while draining")
}

func TestServerPortInUse(t *testing.T) {
	occupied, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer occupied.Close()

	var log syncBuffer
	code := run(context.Background(), []string{"-addr", occupied.Addr().String()}, &log, nil)

	assert.Equal(t, exitFailure, code, "exit status")
	assert.Contains(t, log.String(), "another process listens on "+occupied.Addr().String())
}

func TestServerInvalidCSV(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	content := "product_id,name,location,quantity\n1,Widget,Depot,many\n"
	require.NoError(t, os.WriteFile(bad, []byte(content), 0o600))

	var log syncBuffer
	code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-inventory", bad}, &log, nil)

	assert.Equal(t, exitUsage, code, "exit status")
	assert.Contains(t, log.String(), bad+":2:", "the error names the file and line")
}

func TestServerMissingCSV(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.csv")

	var log syncBuffer
	code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-inventory", missing}, &log, nil)

	assert.Equal(t, exitUsage, code, "exit status")
	assert.Contains(t, log.String(), missing, "the error names the file")
}

func TestServerFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"help", []string{"-h"}, exitOK, "Usage:\n  stockserver [flags]"},
		{"unknown flag", []string{"-port", "80"}, exitUsage, "flag provided but not defined: -port"},
		{"log format", []string{"-log-format", "xml"}, exitUsage, `-log-format is "xml"`},
		{"workers", []string{"-workers", "0"}, exitUsage, "-workers is 0"},
		{"negative delay", []string{"-item-delay", "-1s"}, exitUsage, "-item-delay is -1s"},
		{"products alone", []string{"-products", "p.csv"}, exitUsage, "-products needs -inventory"},
		{"argument", []string{"extra"}, exitUsage, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			code := run(context.Background(), tt.args, &out, nil)

			assert.Equal(t, tt.want, code, "exit status")
			assert.Contains(t, out.String(), tt.msg)
		})
	}
}
