package faultnet

import (
	"fmt"
	"net"
	"time"
)

// SetLatency delays every chunk, in both directions and on open connections
// too, by d plus a uniform random extra in [0, jitter). The extra comes from
// the generator that Config.Seed seeds. Zero for both turns latency off, and
// negative values count as zero.
func (p *Proxy) SetLatency(d, jitter time.Duration) {
	d, jitter = max(d, 0), max(jitter, 0)

	p.mu.Lock()
	p.latency, p.jitter = d, jitter
	p.mu.Unlock()

	p.logger.Info("latency set", "latency", d, "jitter", jitter)
}

// CutAfter makes every connection opened after the call forward at most n
// bytes, counting both directions together, and then cuts it with a reset.
// Connections already open keep the limit they opened with. A value of n <= 0
// turns the fault off and also lifts the limit of connections already open.
func (p *Proxy) CutAfter(n int64) {
	n = max(n, 0)

	p.mu.Lock()
	p.cutAfter = n
	if n == 0 {
		p.liftEpoch.Add(1)
	}
	p.mu.Unlock()

	p.logger.Info("cut after set", "bytes", n)
}

// CutOnce arms a single cut: the first connection, open or new, to forward n
// bytes from the moment the call takes effect on it is cut with a reset after
// exactly n bytes, both directions counted together. Every other connection
// passes. A new call replaces an armed cut that has not fired, and n <= 0
// disarms it.
func (p *Proxy) CutOnce(n int64) {
	if n <= 0 {
		p.once.Store(nil)
		p.logger.Info("cut once disarmed")
		return
	}
	p.once.Store(&onceCut{n: n})
	p.logger.Info("cut once armed", "bytes", n)
}

// CutAll cuts every open connection now with a reset, including connections
// inside the black hole and connections still dialing the target. Connections
// opened after the call are not affected.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	links := p.snapshotLinks()
	p.mu.Unlock()

	p.logger.Info("cutting all connections", "count", len(links))
	for _, l := range links {
		l.close(closeReset, reasonCutAll)
	}
}

// SetBlackhole turns the black hole on or off. While it is on, the proxy
// forwards nothing in either direction and closes nothing: bytes read from
// either side are dropped, including bytes that were waiting out their
// latency, and a close from either side is not passed on. A connection that
// lost bytes or a close this way stays dead after the black hole ends,
// dropping everything until a side closes it, CutAll or Close. Connections
// accepted during the black hole never reach the target and stay dead too.
// Connections that moved nothing during the black hole work again afterwards.
func (p *Proxy) SetBlackhole(on bool) {
	p.blackhole.Store(on)
	p.logger.Info("black hole set", "on", on)
}

// SetRefuse makes dials to Addr fail with ECONNREFUSED (on) or succeed again
// (off). Turning it on closes the listener, so the kernel rejects new
// connections. Open connections are not affected. Turning it off listens again
// on the same address, retrying for up to one second when the port cannot be
// bound at once. If the port stays taken, SetRefuse returns an error and the
// proxy keeps refusing. After Close, SetRefuse does nothing.
func (p *Proxy) SetRefuse(on bool) error {
	p.listenMu.Lock()
	defer p.listenMu.Unlock()

	if on {
		return p.stopListening()
	}
	return p.resumeListening()
}

// Reset clears every fault: latency, CutAfter (on open connections too),
// CutOnce, the black hole, and refused connections. Connections that the
// black hole killed stay dead. The error is that of SetRefuse(false).
func (p *Proxy) Reset() error {
	p.SetLatency(0, 0)
	p.CutAfter(0)
	p.CutOnce(0)
	p.SetBlackhole(false)
	return p.SetRefuse(false)
}

// stopListening closes the listener. The accept loop then ends on its own.
func (p *Proxy) stopListening() error {
	p.mu.Lock()
	ln := p.listener
	p.listener = nil
	p.mu.Unlock()

	if ln == nil {
		return nil
	}
	// Hold the port before closing the listener, so that no other socket can
	// take it in between. On failure the port is left free, as on other
	// systems.
	hold, err := holdPort(p.addr)
	if err != nil {
		p.logger.Warn("cannot hold the port while refusing connections, so another socket may take it", "addr", p.addr, "error", err)
	}
	p.hold = hold
	if err := ln.Close(); err != nil {
		return fmt.Errorf("faultnet: failed to close listener on %s: %w", p.addr, err)
	}
	p.logger.Info("refusing connections", "addr", p.addr)
	return nil
}

// resumeListening listens again on p.addr and restarts the accept loop.
func (p *Proxy) resumeListening() error {
	p.mu.Lock()
	refusing := p.listener == nil && !p.closed
	p.mu.Unlock()
	if !refusing {
		return nil
	}

	ln, err := p.listenAgain()
	if err != nil || ln == nil {
		return err
	}

	p.mu.Lock()
	defer p.mu.Unlock()

	if p.closed {
		ln.Close()
		return nil
	}
	p.listener = ln
	p.wg.Add(1)
	go p.acceptLoop(ln)
	p.logger.Info("accepting connections again", "addr", p.addr)
	return nil
}

// listenAgain binds p.addr again. Between closing the old listener and now,
// another socket, such as an outgoing connection given this port as its
// ephemeral port, may hold the port, so failures are retried for
// relistenTimeout. It returns a nil listener and no error when Close is called
// during the retries.
func (p *Proxy) listenAgain() (net.Listener, error) {
	deadline := time.Now().Add(relistenTimeout)
	for attempt := 1; ; attempt++ {
		ln, err := listenTCP(p.addr)
		if err == nil {
			p.hold.release()
			p.hold = nil
			return ln, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("faultnet: failed to listen again on %s after %d attempts, so the proxy still refuses connections (another socket may hold the port): %w", p.addr, attempt, err)
		}

		p.logger.Debug("listen again failed, retrying", "addr", p.addr, "attempt", attempt, "error", err)
		select {
		case <-time.After(relistenInterval):
		case <-p.done:
			return nil, nil
		}
	}
}
