package faultnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// dialTimeout bounds the dial to the target. Loopback dials end at once
	// unless the target's accept backlog is full.
	dialTimeout = 5 * time.Second

	// relistenTimeout and relistenInterval bound the retries of SetRefuse(false)
	// when the port cannot be bound again at once.
	relistenTimeout  = time.Second
	relistenInterval = 10 * time.Millisecond

	// maxAcceptBackoff caps the pause after a failed Accept, such as EMFILE.
	maxAcceptBackoff = time.Second
)

// Config configures a Proxy. Only Target is required.
type Config struct {
	// Target is the host:port that the proxy forwards to. The host must be a
	// loopback IP address or "localhost", and the port must not be zero.
	// Required.
	Target string

	// Listen is the host:port that the proxy listens on. The host must be a
	// loopback IP address or "localhost". Defaults to "127.0.0.1:0", a free port.
	Listen string

	// Seed seeds the latency jitter: two proxies with the same seed draw the
	// same sequence of delays. Defaults to 0, which is a seed like any other.
	Seed uint64

	// Logger receives fault changes, cuts, and errors that the proxy handles.
	// Defaults to nil, which logs nothing.
	Logger *slog.Logger

	// OnCut is called after a fault (CutAfter, CutOnce or CutAll) cuts a
	// connection. It runs on the goroutine that cut the connection, so it must
	// not block. Defaults to nil, which means no call.
	OnCut func()
}

// Stats is a snapshot of a Proxy's counters.
type Stats struct {
	Accepted     int64 // connections accepted since New
	Open         int64 // connections accepted and not yet closed
	Cut          int64 // connections cut by CutAfter, CutOnce or CutAll
	BytesUp      int64 // bytes forwarded from clients to the target
	BytesDown    int64 // bytes forwarded from the target to clients
	BytesDropped int64 // bytes dropped by the black hole, both directions
}

// Proxy is a fault-injecting TCP proxy. Its methods are safe for concurrent
// use. Create it with New and stop it with Close.
type Proxy struct {
	target string
	addr   string
	logger *slog.Logger
	onCut  func()
	dialer net.Dialer
	done   chan struct{} // closed by Close
	wg     sync.WaitGroup

	listenMu sync.Mutex // serializes SetRefuse calls, which close and reopen the listener
	hold     *portHold  // keeps the port while refusing; guarded by listenMu

	mu       sync.Mutex
	listener net.Listener // nil while refusing and after Close
	links    map[*link]struct{}
	closed   bool
	rng      *rand.Rand
	latency  time.Duration
	jitter   time.Duration
	cutAfter int64

	// liftEpoch counts the calls that lifted the CutAfter limit. A connection
	// keeps its limit only while the epoch equals the one it opened under.
	liftEpoch atomic.Uint64
	once      atomic.Pointer[onceCut]
	blackhole atomic.Bool

	nextID       atomic.Uint64
	accepted     atomic.Int64
	cut          atomic.Int64
	bytesUp      atomic.Int64
	bytesDown    atomic.Int64
	bytesDropped atomic.Int64
}

// onceCut is one arming of CutOnce. The first connection to forward n bytes
// after the arming claims it and is cut.
type onceCut struct {
	n       int64
	claimed atomic.Bool
}

// New validates cfg, listens, and starts accepting connections. Each accepted
// connection is forwarded to cfg.Target until one side closes it, a fault
// cuts it, or Close is called.
func New(cfg Config) (*Proxy, error) {
	if cfg.Target == "" {
		return nil, errors.New("faultnet: missing target address; set Config.Target to the server's host:port")
	}
	if err := validateAddress("target", cfg.Target, false); err != nil {
		return nil, err
	}
	listen := cfg.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	if err := validateAddress("listen address", listen, true); err != nil {
		return nil, err
	}

	ln, err := listenTCP(listen)
	if err != nil {
		return nil, fmt.Errorf("faultnet: failed to listen on %s: %w", listen, err)
	}
	if err := requireLoopbackListener(ln); err != nil {
		ln.Close()
		return nil, err
	}

	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{
		target:   cfg.Target,
		addr:     ln.Addr().String(),
		logger:   logger.With("component", "faultnet"),
		onCut:    cfg.OnCut,
		dialer:   net.Dialer{Timeout: dialTimeout, Control: requireLoopbackDial},
		done:     make(chan struct{}),
		listener: ln,
		links:    make(map[*link]struct{}),
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}

	p.wg.Add(1)
	go p.acceptLoop(ln)
	p.logger.Debug("proxy started", "addr", p.addr, "target", p.target)
	return p, nil
}

// Addr returns the host:port that clients dial. It stays the same for the
// proxy's lifetime, including after SetRefuse(false).
func (p *Proxy) Addr() string { return p.addr }

// URL returns "http://" followed by Addr, for HTTP clients.
func (p *Proxy) URL() string { return "http://" + p.addr }

// Close stops listening, closes every connection, and waits for the proxy's
// goroutines to end. Calls after the first do nothing and return nil.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	ln := p.listener
	p.listener = nil
	links := p.snapshotLinks()
	p.mu.Unlock()

	var err error
	if ln != nil {
		if closeErr := ln.Close(); closeErr != nil {
			err = fmt.Errorf("faultnet: failed to close listener on %s: %w", p.addr, closeErr)
		}
	}
	for _, l := range links {
		l.close(closeGraceful, "")
	}
	p.wg.Wait()
	p.logger.Debug("proxy closed", "addr", p.addr)
	return err
}

// Stats returns a snapshot of the proxy's counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	open := int64(len(p.links))
	p.mu.Unlock()

	return Stats{
		Accepted:     p.accepted.Load(),
		Open:         open,
		Cut:          p.cut.Load(),
		BytesUp:      p.bytesUp.Load(),
		BytesDown:    p.bytesDown.Load(),
		BytesDropped: p.bytesDropped.Load(),
	}
}

// snapshotLinks returns the open links. The caller holds p.mu.
func (p *Proxy) snapshotLinks() []*link {
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	return links
}

// acceptLoop accepts connections on ln until ln is closed.
func (p *Proxy) acceptLoop(ln net.Listener) {
	defer p.wg.Done()

	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Errors such as EMFILE pass once connections close, so wait and
			// try again, as net/http's server does.
			backoff = min(max(2*backoff, 5*time.Millisecond), maxAcceptBackoff)
			p.logger.Warn("accept failed, retrying", "addr", p.addr, "retry_in", backoff, "error", err)
			select {
			case <-time.After(backoff):
				continue
			case <-p.done:
				return
			}
		}

		backoff = 0
		p.accepted.Add(1)
		p.wg.Add(1)
		go p.serve(conn)
	}
}

// serve registers the connection from a client, dials the target, and starts
// forwarding. Inside a black hole it does not dial: the connection is dead from
// the start and its data is dropped.
func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()

	l := p.register(client)
	if l == nil {
		client.Close()
		return
	}
	p.logger.Debug("connection opened", "conn", l.id, "client", client.RemoteAddr().String())

	if p.blackhole.Load() {
		l.dead.Store(true)
		l.start(nil)
		return
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !l.setCancelDial(cancel) {
		return
	}
	server, err := p.dialer.DialContext(ctx, "tcp", p.target)
	if err != nil && ctx.Err() != nil {
		return // CutAll or Close closed the link during the dial
	}
	if err != nil {
		p.logger.Warn("dial to target failed, resetting client connection", "conn", l.id, "target", p.target, "error", err)
		l.close(closeReset, "")
		return
	}
	l.start(server)
}

// register creates the link of a newly accepted connection with the CutAfter
// limit in force now. It returns nil after Close.
func (p *Proxy) register(client net.Conn) *link {
	p.mu.Lock()
	defer p.mu.Unlock()

	if p.closed {
		return nil
	}
	l := &link{
		proxy:      p,
		id:         p.nextID.Add(1),
		client:     client,
		done:       make(chan struct{}),
		limit:      p.cutAfter,
		limitEpoch: p.liftEpoch.Load(),
	}
	p.links[l] = struct{}{}
	return l
}

func (p *Proxy) unregister(l *link) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// nextDelay draws the delay of one chunk: the latency plus a uniform extra in
// [0, jitter). Draws happen under p.mu, so the sequence depends only on the
// seed and the order of calls.
func (p *Proxy) nextDelay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()

	delay := p.latency
	if p.jitter > 0 {
		delay += time.Duration(p.rng.Int64N(int64(p.jitter)))
	}
	return delay
}
