package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/longhaul-go/longhaul"
	"github.com/longhaul-go/longhaul/callback"
	"github.com/longhaul-go/longhaul/internal/testutil"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/polling"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer that the client's goroutines may write to
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

// startServer serves engine through all four strategies on a loopback port
// and returns its URL.
func startServer(t *testing.T, engine transport.Engine[lookup.Request, lookup.Result], cfg longhaul.ServerConfig) string {
	t.Helper()

	cfg.Callback.AllowPrivateCallbacks = true // the client's receiver listens on loopback
	srv := longhaul.NewServer(engine, cfg)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx), "server shutdown")
	})
	return ts.URL
}

// runClient runs the program with args and returns its exit status, stdout and stderr.
func runClient(t *testing.T, env environment, args ...string) (int, string, string) {
	t.Helper()

	var stdout, stderr syncBuffer
	env.stdout, env.stderr = &stdout, &stderr
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	code := run(ctx, args, env)
	return code, stdout.String(), stderr.String()
}

func TestClientSakilaEveryStrategy(t *testing.T) {
	url := startServer(t, &lookup.Engine{Source: testutil.SakilaInventory(t)}, longhaul.ServerConfig{})

	for _, strategy := range transport.Strategies {
		t.Run(string(strategy), func(t *testing.T) {
			code, stdout, stderr := runClient(t, environment{},
				"-server", url, "-strategy", string(strategy), "-json", "1", "14", "1001")
			require.Equal(t, exitOK, code, "exit status; stderr:\n%s", stderr)
			assert.Empty(t, stderr, "stderr: a warning means the call fell back or retried")

			var res lookup.Result
			require.NoError(t, json.Unmarshal([]byte(stdout), &res), "stdout is the result JSON")
			require.Len(t, res.Items, 3)
			assert.Equal(t, "1", res.Items[0].ProductID)
			assert.True(t, res.Items[0].Known, "product 1 known")
			assert.Equal(t, 7, res.Items[0].Quantity, "product 1 quantity")
			assert.Len(t, res.Items[0].Locations, 2, "product 1 locations")
			assert.True(t, res.Items[1].Known, "product 14 known")
			assert.Equal(t, 0, res.Items[1].Quantity, "product 14 quantity")
			assert.False(t, res.Items[2].Known, "product 1001 known")
			assert.Contains(t, stdout, `"locations": []`, "empty locations encode as []")
		})
	}
}

func TestClientTable(t *testing.T) {
	url := startServer(t, &lookup.Engine{Source: testutil.SakilaInventory(t)}, longhaul.ServerConfig{})

	code, stdout, stderr := runClient(t, environment{}, "-server", url, "1", "14", "1001")

	require.Equal(t, exitOK, code, "exit status; stderr:\n%s", stderr)
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	require.Len(t, lines, 4, "header and three rows:\n%s", stdout)
	assert.Equal(t, []string{"ID", "NAME", "STATUS", "QUANTITY", "LOCATIONS"}, strings.Fields(lines[0]))
	assert.Contains(t, lines[1], "Academy Dinosaur")
	assert.Contains(t, lines[1], "47 MySakila Drive, Lethbridge, Canada (4); 28 MySQL Boulevard, Woodridge, Australia (3)")
	assert.Contains(t, lines[2], "out of stock")
	assert.Contains(t, lines[3], "unknown")
}

func TestTableRow(t *testing.T) {
	tests := []struct {
		name string
		item lookup.Item
		want []string
	}{
		{
			"in stock",
			lookup.Item{ProductID: "1", Name: "Drill", Known: true, Quantity: 5, Locations: []lookup.Location{
				{Location: "Depot, Leeds", Quantity: 2}, {Location: "Store", Quantity: 3},
			}},
			[]string{"1", "Drill", "in stock", "5", "Depot, Leeds (2); Store (3)"},
		},
		{
			"out of stock",
			lookup.Item{ProductID: "2", Name: "Shelf", Known: true},
			[]string{"2", "Shelf", "out of stock", "0", "-"},
		},
		{
			"unknown",
			lookup.Item{ProductID: "x9"},
			[]string{"x9", "-", "unknown", "-", "-"},
		},
		{
			"control characters",
			lookup.Item{ProductID: "3", Name: "Bad\tname\x1b[2J", Known: true},
			[]string{"3", "Bad?name?[2J", "out of stock", "0", "-"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tableRow(tt.item))
		})
	}
}

func TestClientUnreachable(t *testing.T) {
	// A port that was free a moment ago refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	code, stdout, stderr := runClient(t, environment{attempts: 2}, "-server", url, "1")

	assert.Equal(t, exitFailure, code, "exit status")
	assert.Empty(t, stdout, "stdout")
	assert.Contains(t, stderr, "stockclient: cannot reach the stock server at "+url+": ")
	assert.Contains(t, stderr, "is stockserver running?")
}

func TestClientRejected(t *testing.T) {
	url := startServer(t, &lookup.Engine{}, longhaul.ServerConfig{MaxBodyBytes: 16})

	for _, strategy := range []transport.Strategy{transport.StrategySimple, transport.StrategyPolling} {
		t.Run(string(strategy), func(t *testing.T) {
			code, _, stderr := runClient(t, environment{},
				"-server", url, "-strategy", string(strategy), "1", "2", "3", "4", "5")

			assert.Equal(t, exitFailure, code, "exit status")
			assert.Contains(t, stderr, "stockclient: the stock server rejected the lookup (request-too-large, status 413): ")
		})
	}
}

func TestClientCallbackToPrivateAddress(t *testing.T) {
	// A server with the default callback settings rejects a loopback receiver.
	srv := longhaul.NewServer(&lookup.Engine{}, longhaul.ServerConfig{})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		assert.NoError(t, srv.Shutdown(context.Background()), "server shutdown")
	})

	code, _, stderr := runClient(t, environment{}, "-server", ts.URL, "-strategy", "callback", "1")

	assert.Equal(t, exitFailure, code, "exit status")
	assert.Contains(t, stderr, "stockclient: the stock server rejected the lookup (invalid-request, status 400): ")
	assert.Contains(t, stderr, "must run with -allow-private-callbacks")
}

func TestClientJobFailed(t *testing.T) {
	failing := transport.EngineFunc[lookup.Request, lookup.Result](
		func(context.Context, lookup.Request, transport.ProgressFunc) (lookup.Result, error) {
			return lookup.Result{}, errors.New("inventory database is offline")
		})
	url := startServer(t, failing, longhaul.ServerConfig{})

	code, _, stderr := runClient(t, environment{}, "-server", url, "-strategy", "polling", "1")

	assert.Equal(t, exitFailure, code, "exit status")
	assert.Regexp(t, `stockclient: job [0-9a-f]+ failed \(job-failed\): .*inventory database is offline`, stderr)
}

func TestClientTimeout(t *testing.T) {
	url := startServer(t, &lookup.Engine{ItemDelay: 5 * time.Second}, longhaul.ServerConfig{})

	start := time.Now()
	code, _, stderr := runClient(t, environment{}, "-server", url, "-timeout", "200ms", "1")

	assert.Equal(t, exitFailure, code, "exit status")
	assert.Contains(t, stderr, "stockclient: no result within -timeout 200ms")
	assert.Less(t, time.Since(start), 3*time.Second, "time until the client gave up")
}

func TestClientInterrupted(t *testing.T) {
	url := startServer(t, &lookup.Engine{ItemDelay: 5 * time.Second}, longhaul.ServerConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)

	var stdout, stderr syncBuffer
	code := run(ctx, []string{"-server", url, "1"}, environment{stdout: &stdout, stderr: &stderr})

	assert.Equal(t, exitInterrupted, code, "exit status")
	assert.Regexp(t, `stockclient: canceled \(job [0-9a-f]+\)`, stderr.String())
}

func TestClientFallbackWarning(t *testing.T) {
	// A server whose WebSocket route stays overloaded, so that the call
	// falls back to polling.
	rt := jobs.New(jobs.EngineRunner[lookup.Request, lookup.Result](&lookup.Engine{}), jobs.Config{})
	mux := http.NewServeMux()
	mux.Handle("/", polling.NewHandler(rt, polling.HandlerConfig{}))
	mux.HandleFunc("/ws", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "0")
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ts.Close()
		assert.NoError(t, rt.Shutdown(context.Background()), "runtime shutdown")
	})

	code, stdout, stderr := runClient(t, environment{attempts: 1},
		"-server", ts.URL, "-strategy", "websocket", "-json", "1")

	require.Equal(t, exitOK, code, "exit status; stderr:\n%s", stderr)
	assert.Contains(t, stdout, `"product_id": "1"`)
	assert.Contains(t, stderr, "falling back to polling")
	assert.Contains(t, stderr, "strategy=websocket")
}

func TestClientUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"help", []string{"-h"}, exitOK, "Usage:\n  stockclient [flags] PRODUCT_ID..."},
		{"no IDs", nil, exitUsage, "no product IDs"},
		{"strategy", []string{"-strategy", "carrier-pigeon", "1"}, exitUsage, `-strategy "carrier-pigeon" is not a strategy`},
		{"invalid ID", []string{"a b"}, exitUsage, `invalid product IDs: product_ids[0] "a b" contains the whitespace`},
		{"timeout", []string{"-timeout", "0s", "1"}, exitUsage, "-timeout is 0s"},
		{"callback listen", []string{"-callback-listen", "8081", "1"}, exitUsage, `-callback-listen "8081" is not a host:port address`},
		{"server URL", []string{"-server", "ftp://example.test", "1"}, exitUsage, "invalid -server"},
		{"unknown flag", []string{"-verbose", "1"}, exitUsage, "flag provided but not defined: -verbose"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runClient(t, environment{}, tt.args...)

			assert.Equal(t, tt.want, code, "exit status")
			assert.Empty(t, stdout, "stdout")
			assert.Contains(t, stderr, tt.msg)
		})
	}
}

func TestRenderBar(t *testing.T) {
	tests := []struct {
		p    transport.Progress
		want string
	}{
		{transport.Progress{}, "[------------------------------]  waiting for the server"},
		{transport.Progress{Done: 0, Total: 4}, "[------------------------------]  0/4 IDs    0%"},
		{transport.Progress{Done: 1, Total: 3}, "[##########--------------------]  1/3 IDs   33%"},
		{transport.Progress{Done: 3, Total: 3}, "[##############################]  3/3 IDs  100%"},
		{transport.Progress{Done: 9, Total: 3}, "[##############################]  3/3 IDs  100%"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, renderBar(tt.p), "renderBar(%+v)", tt.p)
	}
}

func TestConsoleKeepsBarBelowLogs(t *testing.T) {
	var out bytes.Buffer
	c := newConsole(&out, true)

	c.progress(transport.Progress{Done: 1, Total: 2})
	_, err := c.Write([]byte("level=WARN msg=retrying\n"))
	require.NoError(t, err)
	c.clearBar()

	bar := "[###############---------------]  1/2 IDs   50%"
	want := eraseLine + bar + eraseLine + "level=WARN msg=retrying\n" + bar + eraseLine
	assert.Equal(t, want, out.String())
}

func TestConsoleWithoutTerminal(t *testing.T) {
	var out bytes.Buffer
	c := newConsole(&out, false)

	c.progress(transport.Progress{Done: 1, Total: 2})
	_, err := c.Write([]byte("line\n"))
	require.NoError(t, err)
	c.clearBar()

	assert.False(t, c.drawsBar(), "drawsBar")
	assert.Equal(t, "line\n", out.String(), "only the log line, no bar")
}

func TestCallbackListenFlag(t *testing.T) {
	// A port that was free a moment ago, for the receiver.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	var mu sync.Mutex
	var hosts []string
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	deliveries := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		hosts = append(hosts, r.URL.Host)
		mu.Unlock()
		return base.RoundTrip(r)
	})}
	url := startServer(t, &lookup.Engine{}, longhaul.ServerConfig{
		Callback: callback.HandlerConfig{HTTPClient: deliveries},
	})

	code, _, stderr := runClient(t, environment{},
		"-server", url, "-strategy", "callback", "-callback-listen", addr, "1")

	require.Equal(t, exitOK, code, "exit status; stderr:\n%s", stderr)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{addr}, hosts, "hosts the server delivered to")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
