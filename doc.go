// Package longhaul calls remote services whose work takes seconds to minutes,
// over networks that drop, stall and time out. It offers four interchangeable
// strategies behind one transport.Client interface, chosen per call, and one
// server that serves an engine through all four.
//
// # Choosing a strategy
//
//   - simple: one HTTP request, held open until the job ends. Right when the
//     work is fast (well under the timeouts of every proxy on the path). A
//     dropped connection loses the call, and the client returns a retryable
//     error.
//   - polling: the submit returns a job ID at once. The client then long-polls
//     the job's status until the job ends, and resumes after any outage. Works
//     for every client, through every proxy. The default.
//   - callback: the client sends a URL with the submit, and the server delivers
//     the result there, signed as Standard Webhooks, retrying for more than a
//     day. Right when the client can receive HTTP requests and should not hold
//     anything open.
//   - websocket: one long-lived socket carries submit, progress and result for
//     many calls. The server detects at once when the client goes away, and the
//     client reconnects and resumes. Right for interactive clients that want
//     progress as it happens.
//
// # Server
//
// NewServer serves an engine, any transport.Engine, through all four
// strategies under one base path:
//
//	engine := &lookup.Engine{Source: lookup.DefaultDemo()}
//	srv := longhaul.NewServer(engine, longhaul.ServerConfig{})
//	defer srv.Shutdown(context.Background())
//	http.ListenAndServe("127.0.0.1:8080", srv)
//
// The routes and messages are described in docs/PROTOCOL.md in the repository,
// so clients in other languages can use the server too. Each strategy's handler
// can also be mounted on its own from its package.
//
// # Client
//
// NewClient returns one client over all four strategies, and each call picks one:
//
//	client, err := longhaul.NewClient[lookup.Request, lookup.Result]("http://127.0.0.1:8080", longhaul.ClientConfig{})
//	if err != nil { ... }
//	defer client.Close()
//	res, err := client.Do(ctx, lookup.Request{ProductIDs: []string{"1", "2"}},
//		transport.WithStrategy(transport.StrategyWebSocket))
//
// Errors follow the taxonomy of package transport: the caller's own context
// error, transport.ErrUnavailable, transport.ErrCircuitOpen, *transport.JobError
// and transport.ErrClosed. A call whose strategy is unavailable falls back to
// polling. A job already accepted is finished through polling by its ID rather
// than started again.
//
// transport.WithBreaker and transport.FanOut wrap any client, this one included.
// FanOut with lookup.Split and lookup.Merge runs a large lookup as batches.
//
// # Caveats
//
//   - The default job store is in memory, so a server restart loses queued jobs
//     and results. Durable and shared stores implement jobs.Store.
//   - The callback client must be reachable from the server. Its receiver
//     listens on a loopback port unless callback.Config sets Listen or
//     PublicURL.
//   - Requests and results travel as JSON.
package longhaul
