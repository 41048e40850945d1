package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ws "github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/longhaul-go/longhaul/transport"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// runCompare runs the program with args and returns its exit status, stdout and stderr.
func runCompare(t *testing.T, args ...string) (int, string, string) {
	t.Helper()

	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func decodeRows(t *testing.T, stdout string) []row {
	t.Helper()

	var rows []row
	require.NoError(t, json.Unmarshal([]byte(stdout), &rows), "stdout is a JSON array of rows:\n%s", stdout)
	return rows
}

func TestCompareEveryStrategyMatches(t *testing.T) {
	code, stdout, stderr := runCompare(t, "-ids", "6", "-item-delay", "10ms", "-json")

	require.Equal(t, exitOK, code, "exit status; stderr:\n%s", stderr)
	rows := decodeRows(t, stdout)
	require.Len(t, rows, 4)
	for i, r := range rows {
		assert.Equal(t, transport.Strategies[i], r.Strategy, "strategy of row %d", i)
		assert.Empty(t, r.Error, "%s error", r.Strategy)
		assert.True(t, r.Matches, "%s result matches the direct run", r.Strategy)
		assert.Positive(t, r.Milliseconds, "%s duration", r.Strategy)
		assert.Zero(t, r.CutConnections, "%s cut connections", r.Strategy)
	}

	simple, polling, callback, websocket := rows[0], rows[1], rows[2], rows[3]
	assert.Equal(t, int64(1), simple.HTTPRequests, "simple HTTP requests")
	assert.GreaterOrEqual(t, polling.HTTPRequests, int64(2), "polling HTTP requests: a submit and at least one poll")
	assert.GreaterOrEqual(t, callback.HTTPRequests, int64(1), "callback HTTP requests")
	assert.Equal(t, int64(1), callback.Deliveries, "callback deliveries")
	assert.Equal(t, int64(1), websocket.HTTPRequests, "websocket HTTP requests: the upgrade")
	assert.Equal(t, int64(1), websocket.WSMessagesIn, "websocket messages in: the submit")
	assert.GreaterOrEqual(t, websocket.WSMessagesOut, int64(2), "websocket messages out: accepted and result at least")
}

func TestCompareTable(t *testing.T) {
	code, stdout, stderr := runCompare(t, "-ids", "3", "-item-delay", "1ms")

	require.Equal(t, exitOK, code, "exit status; stderr:\n%s", stderr)
	lines := strings.Split(stdout, "\n")
	require.GreaterOrEqual(t, len(lines), 8, "report:\n%s", stdout)
	assert.Equal(t, "3 product IDs, 1ms of work per ID, 0s latency, no connection cuts", lines[0])
	assert.Equal(t, []string{"STRATEGY", "TIME", "HTTP", "REQUESTS", "WS", "MESSAGES", "IN/OUT", "CALLBACKS", "OUTCOME", "RESULT"},
		strings.Fields(lines[3]))
	for i, strategy := range transport.Strategies {
		fields := strings.Fields(lines[4+i])
		require.NotEmpty(t, fields, "row of %s", strategy)
		assert.Equal(t, string(strategy), fields[0], "strategy of row %d", i)
		assert.Equal(t, []string{"ok", "same"}, fields[len(fields)-2:], "outcome and result of %s", strategy)
	}
}

func TestCompareCut(t *testing.T) {
	code, stdout, stderr := runCompare(t, "-ids", "6", "-item-delay", "20ms", "-cut", "-json")

	assert.Equal(t, exitFailure, code, "exit status: simple fails under -cut; stderr:\n%s", stderr)
	rows := decodeRows(t, stdout)
	require.Len(t, rows, 4)

	simple := rows[0]
	assert.Contains(t, simple.Error, "connection lost", "simple error")
	assert.False(t, simple.Matches, "simple has no result")
	assert.Equal(t, int64(1), simple.CutConnections, "simple cut connections")
	for _, r := range rows[1:] {
		assert.Empty(t, r.Error, "%s error", r.Strategy)
		assert.True(t, r.Matches, "%s result matches the direct run", r.Strategy)
	}
	websocket := rows[3]
	assert.Equal(t, int64(1), websocket.CutConnections, "websocket cut connections")
	assert.Equal(t, int64(2), websocket.HTTPRequests, "websocket upgrades: the first and the reconnect")
}

func TestCompareFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"help", []string{"-h"}, exitOK, "Usage:\n  compare [flags]"},
		{"no IDs", []string{"-ids", "0"}, exitUsage, "-ids is 0: use 1 to 1000"},
		{"too many IDs", []string{"-ids", "1001"}, exitUsage, "-ids is 1001"},
		{"latency", []string{"-latency", "-1ms"}, exitUsage, "-latency is -1ms"},
		{"timeout", []string{"-timeout", "0s"}, exitUsage, "-timeout is 0s"},
		{"argument", []string{"now"}, exitUsage, `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCompare(t, tt.args...)

			assert.Equal(t, tt.want, code, "exit status")
			assert.Empty(t, stdout, "stdout")
			assert.Contains(t, stderr, tt.msg)
		})
	}
}

func TestProductIDs(t *testing.T) {
	assert.Equal(t, []string{"1001"}, productIDs(1))
	assert.Equal(t, []string{"1", "2", "1001"}, productIDs(3))
}

func TestTrafficCountsWebSocketMessages(t *testing.T) {
	// An echo server behind the counting handler, and messages whose
	// lengths need each of the three length encodings.
	var tr traffic
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		conn.SetReadLimit(1 << 20)
		for {
			typ, data, err := conn.Read(r.Context())
			if err != nil {
				return
			}
			if err := conn.Write(r.Context(), typ, data); err != nil {
				return
			}
		}
	})
	ts := httptest.NewServer(tr.handler(echo))
	defer ts.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	require.NoError(t, err)
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)

	for _, size := range []int{5, 300, 70000} {
		msg := bytes.Repeat([]byte("x"), size)
		require.NoError(t, conn.Write(ctx, ws.MessageBinary, msg))
		_, got, err := conn.Read(ctx)
		require.NoError(t, err)
		require.Len(t, got, size, "echo of %d bytes", size)
	}
	// A ping is a control frame and is not counted. Its pong arrives through
	// the reader that CloseRead starts.
	conn.CloseRead(ctx)
	require.NoError(t, conn.Ping(ctx), "ping")
	require.NoError(t, conn.Close(ws.StatusNormalClosure, ""))

	assert.Equal(t, counts{Requests: 1, WSIn: 3, WSOut: 3}, tr.snapshot())
}

func TestFrameParserFragmentsAndSplits(t *testing.T) {
	var messages atomic.Int64
	p := frameParser{messages: &messages}

	var stream []byte
	stream = append(stream, frame(0x01, false, true, 10)...)    // text, first fragment, masked
	stream = append(stream, frame(0x09, true, true, 4)...)      // ping between fragments
	stream = append(stream, frame(0x00, true, true, 200)...)    // last fragment, 16-bit length
	stream = append(stream, frame(0x02, true, false, 70000)...) // binary, 64-bit length, unmasked
	stream = append(stream, frame(0x08, true, false, 2)...)     // close

	// Feed the stream one byte at a time, so that every header is split.
	for i := range stream {
		p.feed(stream[i : i+1])
	}

	assert.Equal(t, int64(2), messages.Load(), "messages")
	assert.Zero(t, p.skip, "payload bytes still expected")
	assert.Zero(t, p.headerLen, "header bytes of an unfinished frame")
}

// frame returns a WebSocket frame with the given opcode, FIN bit, mask and
// payload length. The payload is zeros.
func frame(opcode byte, final, masked bool, length int) []byte {
	first := opcode
	if final {
		first |= 0x80
	}
	maskBit := byte(0)
	if masked {
		maskBit = 0x80
	}

	var out []byte
	switch {
	case length < 126:
		out = []byte{first, maskBit | byte(length)}
	case length <= 0xffff:
		out = []byte{first, maskBit | 126, 0, 0}
		binary.BigEndian.PutUint16(out[2:], uint16(length))
	default:
		out = []byte{first, maskBit | 127, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(out[2:], uint64(length))
	}
	if masked {
		out = append(out, 1, 2, 3, 4)
	}
	return append(out, make([]byte, length)...)
}
