// Package faultnet is a fault-injecting TCP proxy for tests, benchmarks and
// examples. It sits on loopback between a client and a server and forwards
// the bytes of each connection in both directions. On request it injects the
// faults that long-running calls must survive: latency, a cut after a number
// of bytes or at a chosen moment, a black hole that drops traffic without
// closing, and refused connections.
//
// # Model
//
// New listens on a loopback port. For every connection it accepts, the proxy
// dials the target and forwards each direction in chunks of at most 16 KiB.
// Each direction is a delay line: a reader stamps every chunk with the time it
// may leave, and a writer writes it then. Latency therefore delays each chunk
// by the same amount instead of adding up along a stream. At most 64 KiB wait
// per direction, like a TCP window. The writer checks the faults in force when
// a chunk is due, so a fault changed at any time, from any goroutine, applies
// to open connections from their next chunk on.
//
// When one side closes its half of the connection, the proxy closes the same
// half towards the other side (TCP half close). When one side resets, the
// other side gets a reset too. Close stops listening, closes every connection
// and waits for all of the proxy's goroutines.
//
// # Faults
//
//   - SetLatency(d, jitter) delays every chunk, in both directions, by d plus
//     a uniform random extra in [0, jitter), so d is a floor. Config.Seed seeds
//     the extra: the same seed and the same order of chunks give the same
//     delays.
//   - CutAfter(n) lets each new connection forward at most n bytes, both
//     directions counted together, and cuts it when it reaches n.
//   - CutOnce(n) cuts only the first connection to forward n more bytes.
//     Every other connection passes.
//   - CutAll cuts every open connection now, which is a cut at a moment the
//     test chooses.
//   - SetBlackhole(true) forwards nothing and closes nothing. A connection that
//     lost data to the black hole stays dead after it ends, because a byte
//     stream with a gap cannot go on. New connections work again.
//   - SetRefuse(true) closes the listener, so dials fail with ECONNREFUSED.
//     SetRefuse(false) listens again on the same address.
//   - Reset clears every fault.
//
// A cut closes both sides with SO_LINGER set to 0, so the client and the
// target each see a reset (ECONNRESET) on their next read or write, as when a
// NAT or load balancer between them loses the connection. Stats counts
// connections, cuts and bytes.
//
// # Why not toxiproxy
//
// Shopify's toxiproxy is the field's standard fault proxy and can run in
// process as a Go module. The go.mod of its v2.12.0 requires 21 other modules,
// among them the Prometheus client, zerolog, protobuf, urfave/cli and
// gorilla/mux, and all of them would enter the go.mod of whatever imports it.
// longhaul is a small library meant to be embedded, and its users' builds
// should not carry what only its tests need. The faults listed above fit in a
// few hundred lines of the standard library, so this package has no
// dependencies.
//
// # Example
//
//	server := httptest.NewServer(handler)
//	defer server.Close()
//
//	proxy, err := faultnet.New(faultnet.Config{Target: server.Listener.Addr().String()})
//	if err != nil {
//		return err
//	}
//	defer proxy.Close()
//
//	proxy.SetLatency(50*time.Millisecond, 10*time.Millisecond)
//	proxy.CutAfter(4096)
//	resp, err := http.Get(proxy.URL() + "/run") // a body past 4 KiB ends in a reset
//
// # Caveats
//
//   - Loopback only: Config.Target and Config.Listen must be loopback
//     addresses or "localhost", and a dial whose name resolves elsewhere fails
//     with ErrNotLoopback.
//   - The kernel completes the TCP handshake before the proxy accepts a
//     connection, so a dial during the black hole succeeds and its data then
//     vanishes. A real black hole drops the SYN and the dial itself times out.
//   - The black hole reads and drops data, so the sender's writes keep
//     succeeding. In a real network they block once the send window is full.
//     TCP would also retransmit after a short black hole, while the proxy keeps
//     a connection that lost data dead.
//   - Latency applies to data and to half closes, not to the TCP handshake.
//   - CutAfter and CutOnce forward an exact byte count, but the reset could
//     overtake the last bytes written. On Linux loopback the peer reads every
//     byte before the reset, and the tests check this. Other systems may
//     discard some.
//   - On Linux the proxy holds its port while refusing, with a socket bound
//     but not listening (both sockets set SO_REUSEPORT), so no other server
//     can take it. Elsewhere the port is free while refusing and another
//     socket may take it: SetRefuse(false) retries for one second and then
//     returns an error.
//   - Faults apply per chunk when it is due. A chunk already being written when
//     a fault changes is not recalled.
package faultnet
