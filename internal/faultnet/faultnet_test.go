package faultnet_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/longhaul-go/longhaul/internal/faultnet"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitFor bounds every blocking step of a test, so a bug fails the test
// instead of hanging it.
const waitFor = 5 * time.Second

func newProxy(t *testing.T, target string) *faultnet.Proxy {
	t.Helper()
	proxy, err := faultnet.New(faultnet.Config{Target: target})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, proxy.Close()) })
	return proxy
}

func newHTTPServer(t *testing.T, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	return server
}

// newHTTPClient returns a client that opens a new connection per request, so
// that each request meets the faults as a new connection does.
func newHTTPClient(t *testing.T, timeout time.Duration) *http.Client {
	t.Helper()
	transport := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport, Timeout: timeout}
}

// newTCPServer serves each connection with handle on a loopback listener and
// returns its address. Cleanup closes the listener and every connection, and
// waits for the handlers.
func newTCPServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				handle(conn)
			}()
		}
	}()

	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, conn := range conns {
			conn.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func newEchoServer(t *testing.T) string {
	return newTCPServer(t, func(conn net.Conn) { _, _ = io.Copy(conn, conn) })
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, waitFor)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// echo writes message on conn and reads the same number of bytes back.
func echo(conn net.Conn, message string) (string, error) {
	if err := conn.SetDeadline(time.Now().Add(waitFor)); err != nil {
		return "", err
	}
	if _, err := conn.Write([]byte(message)); err != nil {
		return "", err
	}
	reply := make([]byte, len(message))
	_, err := io.ReadFull(conn, reply)
	return string(reply), err
}

// readFor reads from conn for d and returns the read error, which is
// os.ErrDeadlineExceeded when nothing ends the connection in the meantime.
func readFor(conn net.Conn, d time.Duration) error {
	if err := conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return err
	}
	_, err := conn.Read(make([]byte, 64))
	return err
}

func get(t *testing.T, client *http.Client, url string) (string, error) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// isCutError reports whether err is what a client sees when a connection is
// cut under it.
func isCutError(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

func largeBodyHandler(size int) http.HandlerFunc {
	body := bytes.Repeat([]byte("x"), size)
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		_, _ = w.Write(body)
	}
}

func TestProxyForwardsHTTPRequest(t *testing.T) {
	t.Parallel()
	server := newHTTPServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, body)
	})
	proxy := newProxy(t, server.Listener.Addr().String())
	client := newHTTPClient(t, waitFor)

	resp, err := client.Post(proxy.URL()+"/jobs", "text/plain", strings.NewReader("ids=1,2"))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "POST /jobs ids=1,2", string(body))
	require.Eventually(t, func() bool { return proxy.Stats().BytesDown > 0 }, waitFor, time.Millisecond)
	stats := proxy.Stats()
	assert.Equal(t, int64(1), stats.Accepted)
	assert.Positive(t, stats.BytesUp)
	assert.Zero(t, stats.Cut)
}

func TestProxyAddrIsLoopbackAndURLUsesIt(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, newEchoServer(t))

	host, _, err := net.SplitHostPort(proxy.Addr())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.Equal(t, "http://"+proxy.Addr(), proxy.URL())
}

func TestProxyCountsBytesPerDirection(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, newEchoServer(t))
	conn := dial(t, proxy.Addr())

	reply, err := echo(conn, strings.Repeat("a", 100))
	require.NoError(t, err)
	require.Len(t, reply, 100)

	// Each writer counts bytes before it writes them, so both counts should be
	// complete once the echo has arrived. Eventually tolerates a delay anyway.
	require.Eventually(t, func() bool {
		stats := proxy.Stats()
		return stats.BytesUp+stats.BytesDown == 200
	}, waitFor, time.Millisecond)
	assert.Equal(t, int64(100), proxy.Stats().BytesUp)
	assert.Equal(t, int64(100), proxy.Stats().BytesDown)
}

func TestProxyPassesHalfClose(t *testing.T) {
	t.Parallel()
	target := newTCPServer(t, func(conn net.Conn) {
		request, _ := io.ReadAll(conn) // until the client's half close
		_, _ = conn.Write([]byte("got " + string(request)))
	})
	proxy := newProxy(t, target)
	conn := dial(t, proxy.Addr())
	require.NoError(t, conn.SetDeadline(time.Now().Add(waitFor)))

	_, err := conn.Write([]byte("request"))
	require.NoError(t, err)
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	reply, err := io.ReadAll(conn)

	require.NoError(t, err)
	assert.Equal(t, "got request", string(reply))
}

func TestSetLatencyDelaysRequestAndResponse(t *testing.T) {
	t.Parallel()
	const latency = 40 * time.Millisecond
	server := newHTTPServer(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	proxy := newProxy(t, server.Listener.Addr().String())
	client := newHTTPClient(t, waitFor)
	proxy.SetLatency(latency, 0)

	start := time.Now()
	body, err := get(t, client, proxy.URL())
	elapsed := time.Since(start)

	require.NoError(t, err)
	assert.Equal(t, "ok", body)
	assert.GreaterOrEqual(t, elapsed, 2*latency, "one delay for the request and one for the response")
}

func TestSetLatencyDoesNotAddUpAlongStream(t *testing.T) {
	t.Parallel()
	const (
		latency = 50 * time.Millisecond
		size    = 64 << 10 // four 16 KiB chunks, the whole window
	)
	target := newTCPServer(t, func(conn net.Conn) {
		_, _ = conn.Write(bytes.Repeat([]byte("d"), size))
		_, _ = io.Copy(io.Discard, conn)
	})
	proxy := newProxy(t, target)
	proxy.SetLatency(latency, 0)

	start := time.Now()
	conn := dial(t, proxy.Addr())
	require.NoError(t, conn.SetDeadline(time.Now().Add(waitFor)))
	_, err := io.ReadFull(conn, make([]byte, size))
	elapsed := time.Since(start)

	require.NoError(t, err)
	assert.GreaterOrEqual(t, elapsed, latency)
	// Delaying each chunk only after the previous one was written would take
	// four delays. The delay line lets the chunks wait together.
	assert.Less(t, elapsed, 3*latency, "latency added up along the stream")
}

func TestSetLatencyZeroTurnsItOff(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, newEchoServer(t))
	conn := dial(t, proxy.Addr())
	proxy.SetLatency(time.Hour, time.Hour)
	proxy.SetLatency(0, 0)

	reply, err := echo(conn, "fast")

	require.NoError(t, err)
	assert.Equal(t, "fast", reply)
}

func TestSetLatencyDelaysHalfClose(t *testing.T) {
	t.Parallel()
	const latency = 40 * time.Millisecond
	target := newTCPServer(t, func(conn net.Conn) {
		_, _ = io.Copy(io.Discard, conn)
		_ = conn.(*net.TCPConn).CloseWrite() // pass the end back
	})
	proxy := newProxy(t, target)
	conn := dial(t, proxy.Addr())
	require.NoError(t, conn.SetDeadline(time.Now().Add(waitFor)))
	proxy.SetLatency(latency, 0)

	start := time.Now()
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	_, err := io.ReadAll(conn)
	elapsed := time.Since(start)

	require.NoError(t, err)
	assert.GreaterOrEqual(t, elapsed, 2*latency, "one delay for each half close")
}

func TestCutAfterCutsHTTPBodyMidway(t *testing.T) {
	t.Parallel()
	const size = 64 << 10
	server := newHTTPServer(t, largeBodyHandler(size))
	proxy := newProxy(t, server.Listener.Addr().String())
	client := newHTTPClient(t, waitFor)
	proxy.CutAfter(8 << 10)

	body, err := get(t, client, proxy.URL())

	require.Error(t, err)
	assert.True(t, isCutError(err), "got %v, want a reset or unexpected EOF", err)
	assert.NotEmpty(t, body, "the cut came before any of the body")
	assert.Less(t, len(body), size)
	require.Eventually(t, func() bool { return proxy.Stats().Cut == 1 }, waitFor, time.Millisecond)
	assert.Zero(t, proxy.Stats().Open)
}

func TestCutAfterForwardsExactlyNBytes(t *testing.T) {
	t.Parallel()
	const (
		limit       = 1000
		requestSize = 300
	)
	target := newTCPServer(t, func(conn net.Conn) {
		if _, err := io.ReadFull(conn, make([]byte, requestSize)); err != nil {
			return
		}
		_, _ = conn.Write(bytes.Repeat([]byte("r"), 10_000))
		_, _ = io.Copy(io.Discard, conn) // until the cut
	})
	proxy := newProxy(t, target)
	proxy.CutAfter(limit)
	conn := dial(t, proxy.Addr())
	require.NoError(t, conn.SetDeadline(time.Now().Add(waitFor)))

	_, err := conn.Write(bytes.Repeat([]byte("q"), requestSize))
	require.NoError(t, err)
	reply, err := io.ReadAll(conn)

	assert.ErrorIs(t, err, syscall.ECONNRESET)
	assert.Len(t, reply, limit-requestSize, "both directions count towards the limit")
	require.Eventually(t, func() bool {
		stats := proxy.Stats()
		return stats.Cut == 1 && stats.BytesUp+stats.BytesDown == limit
	}, waitFor, time.Millisecond)
	stats := proxy.Stats()
	assert.Equal(t, int64(requestSize), stats.BytesUp)
	assert.Equal(t, int64(limit-requestSize), stats.BytesDown)
}

func TestCutAfterAppliesToEachNewConnection(t *testing.T) {
	t.Parallel()
	server := newHTTPServer(t, largeBodyHandler(32<<10))
	proxy := newProxy(t, server.Listener.Addr().String())
	client := newHTTPClient(t, waitFor)
	proxy.CutAfter(4 << 10)

	for i := range 3 {
		_, err := get(t, client, proxy.URL())
		assert.True(t, isCutError(err), "request %d: got %v, want a reset or unexpected EOF", i, err)
	}
	require.Eventually(t, func() bool { return proxy.Stats().Cut == 3 }, waitFor, time.Millisecond)
}

func TestCutAfterZeroLiftsLimitOfOpenConnection(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, newEchoServer(t))
	proxy.CutAfter(100)
	conn := dial(t, proxy.Addr())
	proxy.CutAfter(0)

	reply, err := echo(conn, strings.Repeat("z", 200))

	require.NoError(t, err)
	assert.Len(t, reply, 200)
	assert.Zero(t, proxy.Stats().Cut)
}

func TestCutOnceCutsOneConnectionThenPasses(t *testing.T) {
	t.Parallel()
	const size = 32 << 10
	server := newHTTPServer(t, largeBodyHandler(size))
	proxy := newProxy(t, server.Listener.Addr().String())
	client := newHTTPClient(t, waitFor)
	proxy.CutOnce(4 << 10)

	_, err := get(t, client, proxy.URL())
	assert.True(t, isCutError(err), "first request: got %v, want a reset or unexpected EOF", err)

	for i := range 2 {
		body, err := get(t, client, proxy.URL())
		require.NoError(t, err, "request %d after the cut", i+2)
		assert.Len(t, body, size)
	}
	require.Eventually(t, func() bool { return proxy.Stats().Cut == 1 }, waitFor, time.Millisecond)
}

func TestCutOnceCountsFromCallOnOpenConnection(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, newEchoServer(t))
	conn := dial(t, proxy.Addr())
	_, err := echo(conn, strings.Repeat("a", 500)) // 1000 bytes before the call
	require.NoError(t, err)
	proxy.CutOnce(100)

	_, err = echo(conn, strings.Repeat("b", 80)) // 80 up, then 20 of the echo down
	require.Error(t, err)

	assert.True(t, isCutError(err), "got %v, want a reset", err)
	require.Eventually(t, func() bool {
		stats := proxy.Stats()
		return stats.Cut == 1 && stats.BytesUp+stats.BytesDown == 1000+100
	}, waitFor, time.Millisecond)
	assert.Equal(t, int64(500+80), proxy.Stats().BytesUp)
	assert.Equal(t, int64(500+20), proxy.Stats().BytesDown)
}

func TestCutAllEndsLongLivedConnection(t *testing.T) {
	t.Parallel()
	handlerEnded := make(chan struct{})
	server := newHTTPServer(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(handlerEnded)
		fmt.Fprintln(w, "ready")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the server notices when the proxy cuts
	})
	proxy := newProxy(t, server.Listener.Addr().String())
	client := newHTTPClient(t, waitFor)

	resp, err := client.Get(proxy.URL())
	require.NoError(t, err)
	defer resp.Body.Close()
	reader := bufio.NewReader(resp.Body)
	line, err := reader.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)

	proxy.CutAll()
	_, err = reader.ReadString('\n')

	assert.True(t, isCutError(err), "client: got %v, want a reset or unexpected EOF", err)
	select {
	case <-handlerEnded:
	case <-time.After(waitFor):
		t.Fatal("the server's handler did not see the cut")
	}
	stats := proxy.Stats()
	assert.Equal(t, int64(1), stats.Cut)
	assert.Zero(t, stats.Open)
}

func TestCutAllSparesLaterConnections(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, newEchoServer(t))
	first := dial(t, proxy.Addr())
	_, err := echo(first, "before")
	require.NoError(t, err)

	proxy.CutAll()
	second := dial(t, proxy.Addr())
	reply, err := echo(second, "after")

	require.NoError(t, err)
	assert.Equal(t, "after", reply)
	assert.ErrorIs(t, readFor(first, waitFor), syscall.ECONNRESET)
}

func TestOnCutIsCalledPerCut(t *testing.T) {
	t.Parallel()
	var cuts atomic.Int64
	proxy, err := faultnet.New(faultnet.Config{
		Target: newEchoServer(t),
		OnCut:  func() { cuts.Add(1) },
	})
	require.NoError(t, err)
	defer proxy.Close()
	conns := []net.Conn{dial(t, proxy.Addr()), dial(t, proxy.Addr())}
	for _, conn := range conns {
		_, err := echo(conn, "x")
		require.NoError(t, err)
	}

	proxy.CutAll()

	assert.Equal(t, int64(2), cuts.Load())
}

func TestBlackholeTimesOutRequestWithoutClosing(t *testing.T) {
	t.Parallel()
	const clientTimeout = 200 * time.Millisecond
	server := newHTTPServer(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	proxy := newProxy(t, server.Listener.Addr().String())
	proxy.SetBlackhole(true)

	start := time.Now()
	_, err := get(t, newHTTPClient(t, clientTimeout), proxy.URL())
	elapsed := time.Since(start)

	var netErr net.Error
	require.ErrorAs(t, err, &netErr)
	assert.True(t, netErr.Timeout(), "got %v, want a timeout", err)
	assert.GreaterOrEqual(t, elapsed, clientTimeout, "the request failed fast instead of stalling")

	conn := dial(t, proxy.Addr())
	_, err = conn.Write([]byte("ping"))
	require.NoError(t, err)
	assert.ErrorIs(t, readFor(conn, 100*time.Millisecond), os.ErrDeadlineExceeded, "the connection was closed, not held")
	assert.Positive(t, proxy.Stats().Open)
	assert.Positive(t, proxy.Stats().BytesDropped)
}

func TestBlackholeKeepsAffectedConnectionsDead(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, newEchoServer(t))
	before := dial(t, proxy.Addr())
	_, err := echo(before, "warm")
	require.NoError(t, err)
	proxy.SetBlackhole(true)
	during := dial(t, proxy.Addr())
	for _, conn := range []net.Conn{before, during} {
		_, err := conn.Write([]byte("lost"))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return proxy.Stats().BytesDropped == 8 }, waitFor, time.Millisecond)

	proxy.SetBlackhole(false)

	for name, conn := range map[string]net.Conn{"opened before": before, "opened during": during} {
		_, err := conn.Write([]byte("again"))
		require.NoError(t, err)
		assert.ErrorIs(t, readFor(conn, 100*time.Millisecond), os.ErrDeadlineExceeded, "%s: got data or a close from a dead connection", name)
	}
	after := dial(t, proxy.Addr())
	reply, err := echo(after, "new")
	require.NoError(t, err)
	assert.Equal(t, "new", reply)
}

func TestBlackholeSparesIdleConnection(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, newEchoServer(t))
	conn := dial(t, proxy.Addr())
	_, err := echo(conn, "before")
	require.NoError(t, err)

	proxy.SetBlackhole(true)
	proxy.SetBlackhole(false)
	reply, err := echo(conn, "after")

	require.NoError(t, err)
	assert.Equal(t, "after", reply)
	assert.Zero(t, proxy.Stats().BytesDropped)
}

func TestBlackholeDropsClose(t *testing.T) {
	t.Parallel()
	serverSawEnd := make(chan struct{})
	target := newTCPServer(t, func(conn net.Conn) {
		_, _ = io.Copy(io.Discard, conn)
		close(serverSawEnd)
	})
	proxy := newProxy(t, target)
	conn, err := net.Dial("tcp", proxy.Addr())
	require.NoError(t, err)
	_, err = conn.Write([]byte("hello"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return proxy.Stats().BytesUp == 5 }, waitFor, time.Millisecond)

	proxy.SetBlackhole(true)
	require.NoError(t, conn.Close())

	select {
	case <-serverSawEnd:
		t.Fatal("the close passed through the black hole")
	case <-time.After(100 * time.Millisecond):
	}
	assert.Equal(t, int64(1), proxy.Stats().Open)
}

func TestSetRefuseRejectsDialsAndRestoresAddress(t *testing.T) {
	t.Parallel()
	server := newHTTPServer(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	proxy := newProxy(t, server.Listener.Addr().String())
	client := newHTTPClient(t, waitFor)
	addr := proxy.Addr()

	require.NoError(t, proxy.SetRefuse(true))
	_, dialErr := net.DialTimeout("tcp", addr, waitFor)
	_, getErr := get(t, client, proxy.URL())
	require.NoError(t, proxy.SetRefuse(false))
	body, err := get(t, client, proxy.URL())

	assert.ErrorIs(t, dialErr, syscall.ECONNREFUSED)
	assert.ErrorIs(t, getErr, syscall.ECONNREFUSED)
	require.NoError(t, err)
	assert.Equal(t, "ok", body)
	assert.Equal(t, addr, proxy.Addr())
}

func TestSetRefuseKeepsOpenConnections(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, newEchoServer(t))
	conn := dial(t, proxy.Addr())
	_, err := echo(conn, "before")
	require.NoError(t, err)

	require.NoError(t, proxy.SetRefuse(true))
	during, duringErr := echo(conn, "during")
	require.NoError(t, proxy.SetRefuse(false))
	after, afterErr := echo(conn, "after")

	require.NoError(t, duringErr)
	assert.Equal(t, "during", during)
	require.NoError(t, afterErr)
	assert.Equal(t, "after", after)
}

func TestSetRefuseRepeatedIsHarmless(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, newEchoServer(t))

	for range 3 {
		require.NoError(t, proxy.SetRefuse(true))
		require.NoError(t, proxy.SetRefuse(true))
		require.NoError(t, proxy.SetRefuse(false))
		require.NoError(t, proxy.SetRefuse(false))
	}
	reply, err := echo(dial(t, proxy.Addr()), "up")

	require.NoError(t, err)
	assert.Equal(t, "up", reply)
}

func TestResetClearsEveryFault(t *testing.T) {
	t.Parallel()
	const size = 32 << 10
	server := newHTTPServer(t, largeBodyHandler(size))
	proxy := newProxy(t, server.Listener.Addr().String())
	client := newHTTPClient(t, waitFor)
	proxy.SetLatency(time.Hour, 0)
	proxy.CutAfter(10)
	proxy.CutOnce(10)
	proxy.SetBlackhole(true)
	require.NoError(t, proxy.SetRefuse(true))

	require.NoError(t, proxy.Reset())
	start := time.Now()
	body, err := get(t, client, proxy.URL())

	require.NoError(t, err)
	assert.Len(t, body, size)
	assert.Less(t, time.Since(start), time.Second)
	assert.Zero(t, proxy.Stats().Cut)
}

func TestNewRejectsInvalidAddresses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		config        faultnet.Config
		wantLoopback  bool // the error wraps ErrNotLoopback
		wantInMessage string
	}{
		{"missing target", faultnet.Config{}, false, "missing target"},
		{"public target", faultnet.Config{Target: "192.0.2.1:80"}, true, "192.0.2.1:80"},
		{"named target", faultnet.Config{Target: "example.com:80"}, true, "example.com:80"},
		{"unspecified target", faultnet.Config{Target: "0.0.0.0:80"}, true, "0.0.0.0:80"},
		{"unspecified IPv6 target", faultnet.Config{Target: "[::]:80"}, true, "[::]:80"},
		{"IPv4-mapped target", faultnet.Config{Target: "[::ffff:10.0.0.1]:80"}, true, "10.0.0.1"},
		{"metadata target", faultnet.Config{Target: "169.254.169.254:80"}, true, "169.254.169.254"},
		{"target without port", faultnet.Config{Target: "127.0.0.1"}, false, "127.0.0.1"},
		{"target with port zero", faultnet.Config{Target: "127.0.0.1:0"}, false, "port"},
		{"target with named port", faultnet.Config{Target: "127.0.0.1:http"}, false, "port"},
		{"public listen address", faultnet.Config{Target: "127.0.0.1:80", Listen: "0.0.0.0:0"}, true, "0.0.0.0:0"},
		{"empty listen host", faultnet.Config{Target: "127.0.0.1:80", Listen: ":0"}, true, "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			proxy, err := faultnet.New(tt.config)

			require.Error(t, err)
			assert.Nil(t, proxy)
			assert.Equal(t, tt.wantLoopback, errors.Is(err, faultnet.ErrNotLoopback), "got %v", err)
			assert.Contains(t, err.Error(), tt.wantInMessage)
		})
	}
}

func TestNewAcceptsLoopbackAddresses(t *testing.T) {
	t.Parallel()
	target := newEchoServer(t)
	_, port, err := net.SplitHostPort(target)
	require.NoError(t, err)

	for _, config := range []faultnet.Config{
		{Target: target},
		{Target: "localhost:" + port},
		{Target: target, Listen: "localhost:0"},
	} {
		proxy, err := faultnet.New(config)
		require.NoError(t, err, "config %+v", config)
		reply, err := echo(dial(t, proxy.Addr()), "hi")
		assert.NoError(t, err, "config %+v", config)
		assert.Equal(t, "hi", reply, "config %+v", config)
		require.NoError(t, proxy.Close())
	}
}

func TestDialFailureResetsClient(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	target := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens on target now
	proxy := newProxy(t, target)

	// On loopback the reset can arrive before the client's connect returns,
	// so the client sees it from the dial or from the first read.
	conn, err := net.DialTimeout("tcp", proxy.Addr(), waitFor)
	if err == nil {
		defer conn.Close()
		err = readFor(conn, waitFor)
	}

	assert.ErrorIs(t, err, syscall.ECONNRESET)
	require.Eventually(t, func() bool { return proxy.Stats().Open == 0 }, waitFor, time.Millisecond)
}

func TestCloseEndsConnectionsAndIsIdempotent(t *testing.T) {
	t.Parallel()
	proxy, err := faultnet.New(faultnet.Config{Target: newEchoServer(t)})
	require.NoError(t, err)
	conn := dial(t, proxy.Addr())
	_, err = echo(conn, "x")
	require.NoError(t, err)
	proxy.SetLatency(time.Hour, 0) // Close must not wait for delayed chunks
	_, err = conn.Write([]byte("delayed"))
	require.NoError(t, err)

	require.NoError(t, proxy.Close())

	// Closing a socket with unread bytes sends a reset instead of a FIN, so
	// either may arrive, depending on whether the proxy read "delayed" yet.
	err = readFor(conn, waitFor)
	assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "got %v, want EOF or a reset", err)
	assert.NoError(t, proxy.Close())
	assert.NoError(t, proxy.SetRefuse(false))
	assert.NoError(t, proxy.Reset())
	proxy.CutAll()
	assert.Zero(t, proxy.Stats().Open)
}

func TestCloseWhileRefusing(t *testing.T) {
	t.Parallel()
	proxy, err := faultnet.New(faultnet.Config{Target: newEchoServer(t)})
	require.NoError(t, err)
	require.NoError(t, proxy.SetRefuse(true))

	require.NoError(t, proxy.Close())

	assert.NoError(t, proxy.SetRefuse(false))
	_, err = net.DialTimeout("tcp", proxy.Addr(), waitFor)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
}

func TestFaultsAreSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, newEchoServer(t))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()

	var wg sync.WaitGroup
	for worker := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil && i < 1000; i++ {
				conn, err := net.DialTimeout("tcp", proxy.Addr(), time.Second)
				if err == nil {
					_ = conn.SetDeadline(time.Now().Add(50 * time.Millisecond))
					_, _ = conn.Write([]byte("payload"))
					_, _ = conn.Read(make([]byte, 16))
					conn.Close()
				}
				switch (worker + i) % 6 {
				case 0:
					proxy.SetLatency(time.Millisecond, time.Millisecond)
				case 1:
					proxy.CutAfter(int64(i % 10))
				case 2:
					proxy.CutOnce(int64(i % 10))
				case 3:
					proxy.CutAll()
				case 4:
					proxy.SetBlackhole(i%2 == 0)
				case 5:
					_ = proxy.SetRefuse(i%2 == 0)
				}
			}
		}()
	}
	wg.Wait()

	require.NoError(t, proxy.Reset())
	reply, err := echo(dial(t, proxy.Addr()), "still works")
	require.NoError(t, err)
	assert.Equal(t, "still works", reply)
}
