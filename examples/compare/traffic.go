package main

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/http"
	"sync/atomic"
)

// traffic counts what reaches the server in one strategy run: HTTP requests,
// WebSocket data messages in each direction and callback delivery attempts.
// Its methods are safe for concurrent use.
type traffic struct {
	requests   atomic.Int64
	wsIn       atomic.Int64 // WebSocket data messages from the client to the server
	wsOut      atomic.Int64 // WebSocket data messages from the server to the client
	deliveries atomic.Int64
}

// counts is a snapshot of traffic.
type counts struct {
	Requests   int64
	WSIn       int64
	WSOut      int64
	Deliveries int64
}

func (t *traffic) reset() {
	t.requests.Store(0)
	t.wsIn.Store(0)
	t.wsOut.Store(0)
	t.deliveries.Store(0)
}

func (t *traffic) snapshot() counts {
	return counts{
		Requests:   t.requests.Load(),
		WSIn:       t.wsIn.Load(),
		WSOut:      t.wsOut.Load(),
		Deliveries: t.deliveries.Load(),
	}
}

// handler counts every request before next serves it. On GET /ws it also
// counts the WebSocket messages of the upgraded connection.
func (t *traffic) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.requests.Add(1)
		if r.URL.Path == "/ws" {
			w = &hijackCounter{ResponseWriter: w, traffic: t}
		}
		next.ServeHTTP(w, r)
	})
}

// countRequests returns a RoundTripper that adds 1 to count for every
// request before next sends it.
func countRequests(next http.RoundTripper, count *atomic.Int64) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		count.Add(1)
		return next.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// hijackCounter hands the WebSocket library a connection that counts the
// messages it carries.
type hijackCounter struct {
	http.ResponseWriter
	traffic *traffic
}

// Unwrap lets http.ResponseController reach the server's ResponseWriter.
func (h *hijackCounter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// Hijack takes over the connection and returns it wrapped in a
// messageCounter, with a fresh buffered reader and writer on top of the
// wrapper. The server's own buffered writer writes to the bare connection, so
// it would bypass the count. The bytes that the server's reader had already
// buffered are passed on first, and counted.
func (h *hijackCounter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}

	counted := &messageCounter{
		Conn: conn,
		in:   frameParser{messages: &h.traffic.wsIn},
		out:  frameParser{messages: &h.traffic.wsOut},
	}
	if n := rw.Reader.Buffered(); n > 0 {
		buffered, _ := rw.Reader.Peek(n)
		counted.pending = append([]byte(nil), buffered...)
	}
	return counted, bufio.NewReadWriter(bufio.NewReader(counted), bufio.NewWriter(counted)), nil
}

// messageCounter is a WebSocket connection that counts the data messages
// read and written. The WebSocket library reads from one goroutine and
// serializes its writes, so each parser is used by one goroutine at a time.
type messageCounter struct {
	net.Conn
	pending []byte // bytes read from the connection before the hijack
	in, out frameParser
}

func (c *messageCounter) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		c.in.feed(p[:n])
		return n, nil
	}

	n, err := c.Conn.Read(p)
	c.in.feed(p[:n])
	return n, err
}

func (c *messageCounter) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.feed(p[:n])
	return n, err
}

// frameParser follows the frames of one direction of a WebSocket stream
// (RFC 6455, section 5.2) by reading each frame header and skipping its
// payload. It counts a message at the last frame of every text or binary
// message. Control frames (close, ping, pong) are not counted.
type frameParser struct {
	messages *atomic.Int64

	header     [14]byte // the maximum header: 2 bytes, an 8-byte length and a 4-byte mask key
	headerLen  int      // bytes of header received so far
	headerNeed int      // length of the current header, known once 2 bytes are in
	skip       uint64   // payload bytes of the current frame still to come
}

func (f *frameParser) feed(p []byte) {
	for len(p) > 0 {
		if f.skip > 0 {
			n := min(uint64(len(p)), f.skip)
			f.skip -= n
			p = p[n:]
			continue
		}

		f.header[f.headerLen] = p[0]
		f.headerLen++
		p = p[1:]
		if f.headerLen == 2 {
			f.headerNeed = 2 + extendedLengthBytes(f.header[1]&0x7f)
			if f.header[1]&0x80 != 0 { // the payload is masked: a 4-byte key follows
				f.headerNeed += 4
			}
		}
		if f.headerLen < 2 || f.headerLen < f.headerNeed {
			continue
		}

		f.endHeader()
	}
}

// endHeader counts the frame whose header is complete and starts skipping its payload.
func (f *frameParser) endHeader() {
	length := uint64(f.header[1] & 0x7f)
	switch length {
	case 126:
		length = uint64(binary.BigEndian.Uint16(f.header[2:4]))
	case 127:
		length = binary.BigEndian.Uint64(f.header[2:10])
	}

	final := f.header[0]&0x80 != 0
	opcode := f.header[0] & 0x0f
	if final && opcode < 0x8 { // 0x0 continuation, 0x1 text, 0x2 binary; 0x8 and up are control frames
		f.messages.Add(1)
	}

	f.skip = length
	f.headerLen = 0
	f.headerNeed = 0
}

// extendedLengthBytes returns how many bytes of extended payload length
// follow the 7-bit length field.
func extendedLengthBytes(length7 byte) int {
	switch length7 {
	case 126:
		return 2
	case 127:
		return 8
	}
	return 0
}
