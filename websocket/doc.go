// Package websocket is the websocket strategy of longhaul: one long-lived
// WebSocket carries the submit, the progress and the result of every call
// between a Client and a Handler.
//
// Files that import this package and github.com/coder/websocket, which it
// builds on, must rename one of them. This package's own files import
// coder/websocket as ws.
//
// # Model
//
// A Client opens one socket to GET {base}/ws and sends each call as a submit
// message under a call ID of its own. The Handler replies with accepted and the
// job's ID, progress messages while the job runs, and one result or error
// message when it ends, each under the call ID. When a job has reported
// progress, its final progress arrives before its result or error, even when
// the job finished at once. So many calls share the
// socket, and their replies interleave. Every message is a JSON text message
// with a type. The client sends submit, resume and cancel, and the server
// sends accepted, progress, result and error. docs/PROTOCOL.md describes them
// for clients in other languages.
//
// # Lifecycle
//
// NewClient does not dial. The first Do dials through the client's pipeline
// (retries with backoff, the server's circuit breaker, a per-attempt timeout),
// and later calls reuse the socket, which stays open while the client is idle.
// Each submit goes through the same breaker once a socket is open, so an open
// breaker rejects new calls. A call waits for the socket outside the breaker,
// so after the breaker's open time the next dial is its half-open trial.
// Both sides ping every 15 seconds by default and wait one interval for the
// pong, so a peer that vanished without closing its connection is noticed
// within two intervals.
//
// When the socket drops, the client dials again and, for each call in
// progress, sends resume with the job's ID. A call whose accepted message had
// not arrived is submitted again with the same idempotency key, so the server
// returns the job it already created. A job whose socket closed before it
// finished waits HandlerConfig.ResumeGrace (30 s by default) for a resume on
// any socket of the same owner. If none arrives, the handler cancels the job.
//
// While the server is unreachable, the client keeps dialing for the calls
// whose jobs the server accepted, until each call's context ends or Close.
// It makes one attempt at a time, outside the circuit breaker, with jittered
// backoff capped at the retry policy's MaxDelay (10 s by default). Each dial
// is bounded by Config.DialTimeout (30 s by default), so an upgrade request
// that gets no response counts as a failed attempt. A call whose job the
// server has not accepted yet gets the pipeline's attempts only.
//
// The Handler runs jobs on a jobs.Runtime, so a job submitted over a socket is
// also readable by ID through the polling handler on the same runtime.
// Shutdown closes every socket with status 1001 (going away) and leaves the
// jobs to the runtime, so clients reconnect and resume them once a server
// accepts their sockets again.
//
// # Guarantees
//
//   - A call whose socket drops ends with one result. Resumes and resubmits
//     with the call's idempotency key reach the job of the first submit, so
//     the job runs once unless the server loses it or runs it again after a
//     crash.
//   - The caller's deadline travels with each submit as timeout_ms, and the
//     server fails the job with code job-timeout when it passes. When the
//     caller's context ends, Do sends cancel and returns the context's error
//     at once.
//   - The server learns that a client went away when its connection closes,
//     or within two ping intervals when it vanished silently, and cancels the
//     jobs that no client resumes within the grace period.
//   - An outage of the socket costs an accepted call nothing while the
//     caller's context lives and the server keeps the job: the client
//     reconnects and resumes it, however many dials fail. The wait is
//     bounded by the caller's context and by the server's grace period. A job
//     that the server canceled after its grace period ends the call with a
//     *transport.JobError with code job-canceled once the client reaches the
//     server again, and a job that the server lost, such as after a restart
//     with an in-memory store, is submitted again with the call's
//     idempotency key. A response to the upgrade request that no retry can
//     change, such as 401 or 404, ends the call at once.
//   - Every call ends with its result or an error. Do returns
//     *transport.UnavailableError (ErrUnavailable) when every dial the
//     pipeline allows failed before the server accepted the call's job, or
//     when the server rejected every submit as overloaded. Such an error
//     carries the server's *transport.Problem when there is one, but never
//     matches *transport.JobError. Do returns *transport.JobError for a job
//     that failed, was canceled or was rejected, transport.ErrClosed after
//     Close, and the context's error when the caller gave up.
//   - Limits end in clear errors. A connection over
//     HandlerConfig.MaxConnections gets a 503 problem with Retry-After before
//     the upgrade. An invalid message gets an error message, and the socket
//     stays open. A message over HandlerConfig.MaxMessageBytes closes the
//     socket with status 1009 (message too big). After 32 invalid messages in
//     a row, the next one closes it with status 1008 (policy violation).
//
// # When to choose it
//
// Choose websocket when one client makes many calls, wants live progress, and
// the server should stop work as soon as its client is gone. Choose polling
// when the client may be away longer than the grace period or when a proxy on
// the way does not pass WebSockets, and callback when the client can receive
// HTTP requests and may be away for hours.
//
// # Example
//
// The server mounts the handler next to its other routes:
//
//	rt := jobs.New(jobs.EngineRunner(&lookup.Engine{}), jobs.Config{})
//	handler := websocket.NewHandler(rt, websocket.HandlerConfig{BasePath: "/api"})
//	mux.Handle("/api/", handler)
//
// The client calls it like any transport.Client:
//
//	client, err := websocket.NewClient[lookup.Request, lookup.Result]("http://127.0.0.1:8080/api", websocket.Config{})
//	if err != nil {
//		return err
//	}
//	defer client.Close()
//	res, err := client.Do(ctx, lookup.Request{ProductIDs: []string{"1", "2"}},
//		transport.WithProgress(func(p transport.Progress) { log.Printf("%d of %d", p.Done, p.Total) }))
//
// # Caveats
//
//   - Proxies and load balancers close connections that look idle, often
//     after 60 seconds. Keep PingInterval, on the client or the handler, below
//     the shortest idle timeout on the way.
//   - A job is resumed only within the server's ResumeGrace. A client that
//     stays away longer finds its job canceled, and Do returns a
//     *transport.JobError with code job-canceled. HandlerConfig.KeepJobsOnDisconnect
//     keeps such jobs, whose results stay readable by ID through polling.
//   - A call with an accepted job waits as long as its context allows for a
//     server that stays unreachable. Give calls a deadline, or call Close, to
//     bound that wait. A caller that gives up while the socket is down cannot
//     send cancel, so the server cancels the job only after its grace period.
//   - Reconnects for accepted jobs do not pass through the circuit breaker.
//     An open breaker waits out its OpenTimeout (30 s by default), as long as
//     the server's default grace period, so waiting for it would let the
//     server cancel the jobs. The breaker still rejects new calls at once while
//     it is open, even after the socket is back.
//   - Grace timers live in the process whose socket closed. With several
//     replicas on a shared store, a resume that reaches another replica does
//     not stop the timer, and the job is canceled when the grace period ends.
//     Route a client's sockets to one replica, or set KeepJobsOnDisconnect.
//   - One socket per Client carries every call: a large result delays the
//     messages behind it, and a dropped socket interrupts every call at once.
//     Use several Clients to spread calls over several sockets.
//   - Close does not cancel the jobs of the calls it ends. The server cancels
//     them after its grace period.
//   - When the server closes the socket with status 1009, the client cannot
//     tell which message was too large. It ends the call with the largest
//     request in flight with code request-too-large and sends the others again.
//   - A message from the server over Config.MaxMessageBytes ends every call in
//     progress on the socket, because the client cannot tell whose it was.
//   - OnAccepted is called once per call. If the server lost the job and the
//     client had to submit the call again, the job ID changes and OnAccepted
//     is not called again.
//   - http.Server.Shutdown does not wait for upgraded connections: call
//     Handler.Shutdown too, for example from http.Server.RegisterOnShutdown.
package websocket
