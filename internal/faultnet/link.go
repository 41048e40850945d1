package faultnet

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// chunkSize is the largest read, and so the largest unit that latency
	// delays and a cut or the black hole checks.
	chunkSize = 16 << 10

	// windowChunks is the maximum number of chunks in one direction at once.
	// With chunkSize it bounds the bytes in flight per direction to 64 KiB, like
	// a TCP window, which also caps bulk throughput at about 64 KiB per delay.
	windowChunks = 4
)

// Reasons for a cut, as logged.
const (
	reasonCutAfter = "cut after"
	reasonCutOnce  = "cut once"
	reasonCutAll   = "cut all"
)

type closeMode int

const (
	closeGraceful closeMode = iota // both ends see an ordinary close (FIN)
	closeReset                     // both ends see a reset (RST), because SO_LINGER is 0
)

// link is one proxied connection: the client's side, the target's side once
// dialed, and the state that the faults need.
type link struct {
	proxy  *Proxy
	id     uint64
	client net.Conn
	done   chan struct{} // closed when the link closes

	// dead is set once the black hole dropped bytes or a close of this link.
	// A dead link drops everything from then on.
	dead atomic.Bool

	mu         sync.Mutex
	server     net.Conn // nil until dialed, and forever when dead from the start
	cancelDial context.CancelFunc
	closed     bool
	running    int   // directions still forwarding
	forwarded  int64 // bytes admitted in both directions
	limit      int64 // the CutAfter limit, 0 for none
	limitEpoch uint64
	onceSeen   *onceCut // the CutOnce arming that onceBase belongs to
	onceBase   int64    // forwarded when onceSeen was first seen
}

// setCancelDial stores the function that aborts the dial to the target. It
// returns false when the link is already closed.
func (l *link) setCancelDial(cancel context.CancelFunc) bool {
	l.mu.Lock()
	defer l.mu.Unlock()

	if l.closed {
		return false
	}
	l.cancelDial = cancel
	return true
}

// start begins forwarding between the client and server. A nil server means
// the link is dead from the start, so only the client's bytes are read, and
// dropped.
func (l *link) start(server net.Conn) {
	directions := []*direction{newDirection(l, l.client, server, &l.proxy.bytesUp)}
	if server != nil {
		directions = append(directions, newDirection(l, server, l.client, &l.proxy.bytesDown))
	}

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		if server != nil {
			server.Close()
		}
		return
	}
	l.server = server
	l.running = len(directions)
	l.mu.Unlock()

	for _, d := range directions {
		l.proxy.wg.Add(2)
		go d.read()
		go d.write()
	}
}

// admit reserves up to n bytes of the link's budget for one write. It returns
// how many bytes may be written, and a non-empty reason when the link must be
// cut right after writing them.
func (l *link) admit(n int) (allowed int, cutReason string) {
	l.mu.Lock()
	defer l.mu.Unlock()

	size := int64(n)
	if l.limit > 0 && l.proxy.liftEpoch.Load() != l.limitEpoch {
		l.limit = 0
	}
	if l.limit > 0 {
		size = min(size, l.limit-l.forwarded)
	}

	once := l.proxy.once.Load()
	if once != l.onceSeen {
		l.onceSeen = once
		l.onceBase = l.forwarded
	}
	if once != nil && !once.claimed.Load() {
		left := once.n - (l.forwarded - l.onceBase)
		if size >= left && once.claimed.CompareAndSwap(false, true) {
			size = left
			cutReason = reasonCutOnce
		}
	}

	l.forwarded += size
	if cutReason == "" && l.limit > 0 && l.forwarded >= l.limit {
		cutReason = reasonCutAfter
	}
	return int(size), cutReason
}

// close closes both sides of the link once, and records a cut when cutReason
// is not empty. It returns false if the link was already closed.
func (l *link) close(mode closeMode, cutReason string) bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	l.closed = true
	server, cancelDial, forwarded := l.server, l.cancelDial, l.forwarded
	l.mu.Unlock()

	// Update Stats before either side can see the close, so that a client
	// reacting to it reads current counters.
	p := l.proxy
	p.unregister(l)
	if cutReason != "" {
		p.cut.Add(1)
	}

	if cancelDial != nil {
		cancelDial()
	}
	close(l.done)
	for _, conn := range []net.Conn{l.client, server} {
		if conn == nil {
			continue
		}
		if tcp, ok := conn.(*net.TCPConn); ok && mode == closeReset {
			_ = tcp.SetLinger(0)
		}
		_ = conn.Close()
	}

	if cutReason == "" {
		p.logger.Debug("connection closed", "conn", l.id, "reset", mode == closeReset)
		return true
	}
	p.logger.Info("connection cut", "conn", l.id, "reason", cutReason, "bytes_forwarded", forwarded)
	if p.onCut != nil {
		p.onCut()
	}
	return true
}

// directionDone closes the link gracefully once both directions have ended.
func (l *link) directionDone() {
	l.mu.Lock()
	l.running--
	last := l.running == 0
	l.mu.Unlock()

	if last {
		l.close(closeGraceful, "")
	}
}

// sleepUntil waits until due or until the link closes, and reports whether
// the link is still open.
func (l *link) sleepUntil(due time.Time) bool {
	wait := time.Until(due)
	if wait <= 0 {
		return true
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()

	select {
	case <-timer.C:
		return true
	case <-l.done:
		return false
	}
}

// chunk is one read, waiting in a direction's delay line. A chunk with a nil
// buf marks the end of the stream and carries the read error.
type chunk struct {
	buf []byte
	n   int
	due time.Time
	err error
}

// direction forwards the bytes of one side to the other. Its reader and
// writer goroutines form a delay line: the reader stamps each chunk with the
// time it may be written, so latency delays every chunk without adding up
// along a stream.
type direction struct {
	link      *link
	src       net.Conn
	dst       net.Conn // nil when the link is dead from the start
	forwarded *atomic.Int64
	chunks    chan chunk
	free      chan []byte // buffers allocated on first use, nil until then
}

func newDirection(l *link, src, dst net.Conn, forwarded *atomic.Int64) *direction {
	d := &direction{
		link:      l,
		src:       src,
		dst:       dst,
		forwarded: forwarded,
		chunks:    make(chan chunk, windowChunks+1), // +1 for the end-of-stream mark
		free:      make(chan []byte, windowChunks),
	}
	for range windowChunks {
		d.free <- nil
	}
	return d
}

// read reads src into free buffers and queues them until src fails or ends.
func (d *direction) read() {
	defer d.link.proxy.wg.Done()

	for {
		var buf []byte
		select {
		case buf = <-d.free:
		case <-d.link.done:
			return
		}
		if buf == nil {
			buf = make([]byte, chunkSize)
		}

		n, err := d.src.Read(buf)
		if n > 0 {
			due := time.Now().Add(d.link.proxy.nextDelay())
			if !d.enqueue(chunk{buf: buf, n: n, due: due}) {
				return
			}
		} else {
			d.free <- buf
		}
		if err != nil {
			// The end of the stream travels as late as data would.
			due := time.Now().Add(d.link.proxy.nextDelay())
			d.enqueue(chunk{err: err, due: due})
			return
		}
	}
}

func (d *direction) enqueue(c chunk) bool {
	select {
	case d.chunks <- c:
		return true
	case <-d.link.done:
		return false
	}
}

// write writes queued chunks to dst when they are due, applying the faults in
// force at that moment.
func (d *direction) write() {
	defer d.link.proxy.wg.Done()
	defer d.link.directionDone()

	for {
		var c chunk
		select {
		case c = <-d.chunks:
		case <-d.link.done:
			return
		}
		if !d.link.sleepUntil(c.due) {
			return
		}
		if c.buf == nil {
			d.finish(c.err)
			return
		}

		ok := d.forward(c.buf[:c.n])
		d.free <- c.buf
		if !ok {
			return
		}
	}
}

// forward writes data to dst, or drops it in the black hole, and reports
// whether the direction goes on.
func (d *direction) forward(data []byte) bool {
	l, p := d.link, d.link.proxy
	if l.dead.Load() || p.blackhole.Load() {
		l.dead.Store(true)
		p.bytesDropped.Add(int64(len(data)))
		return true
	}

	allowed, cutReason := l.admit(len(data))
	if allowed > 0 {
		// Count before writing, so that Stats already includes the bytes when
		// the peer reads them, and take back what the write did not send.
		d.forwarded.Add(int64(allowed))
		n, err := d.dst.Write(data[:allowed])
		if n < allowed {
			d.forwarded.Add(int64(n - allowed))
		}
		if err != nil {
			// The target or client reset or closed its side. Pass the failure
			// on to the other side as a reset, as the network would.
			l.close(closeReset, "")
			return false
		}
	}
	if cutReason != "" {
		l.close(closeReset, cutReason)
		return false
	}
	return true
}

// finish passes the end of src on to dst: a half close after EOF, a reset
// after any other error. Inside the black hole the end is dropped like data.
func (d *direction) finish(err error) {
	l := d.link
	if l.dead.Load() || l.proxy.blackhole.Load() {
		l.dead.Store(true)
		return
	}

	if errors.Is(err, io.EOF) {
		if half, ok := d.dst.(interface{ CloseWrite() error }); ok && half.CloseWrite() == nil {
			return
		}
		l.close(closeGraceful, "")
		return
	}
	l.close(closeReset, "")
}
