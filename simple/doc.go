// Package simple is the simple longhaul strategy: one HTTP request, held open
// until the job ends, and one response with the result. It needs nothing from
// the client but an HTTP connection, and it is the right choice when the work
// is fast.
//
// # Model
//
// Client.Do sends POST {base}/run with the request as JSON and waits. The
// Handler decodes the request, runs the engine while the request waits, and
// responds with 200 and the result as JSON, or with an RFC 9457 problem
// (application/problem+json). No job is stored: the job lives exactly as long
// as the request, so it has no ID and cannot be resumed or read later.
//
// The caller's deadline travels in the Longhaul-Timeout header (milliseconds
// left). The handler runs the engine with that deadline and with the request's
// context, so the engine stops when the deadline passes or the client
// disconnects, including when the caller cancels.
//
// # Guarantees
//
//   - Every call ends with the result or an error, never a hang past its
//     context.
//   - The caller's cancellation or deadline returns promptly with an error
//     that matches ctx.Err(), and the context of the engine on the server ends.
//   - A connection that fails or is lost before the result arrives gives a
//     *transport.UnavailableError (transport.ErrUnavailable). Its message states
//     whether the job may have run, and that the call may be retried.
//   - An overloaded or unreachable server (a 503, 429, 502 or 504 response) gives
//     an error that is retried when the pipeline allows retries, and
//     transport.ErrUnavailable after the last attempt.
//   - A rejected request or a failed job gives a *transport.JobError with the
//     server's problem and no job ID.
//   - A server that is busy with HandlerConfig.MaxConcurrent runs responds
//     with 503 and Retry-After as soon as it has read the request body, rather
//     than queueing the request.
//
// # Retries
//
// Unlike the other strategies, a simple call is not retried by default:
// Config.Pipeline.Retry.MaxAttempts defaults to 1, not to the pipeline's usual
// 5. The request carries no idempotency key and the server keeps no job, so a
// retry after a lost response runs the job a second time. Engines must tolerate
// that anyway (see transport.Engine), and the stock lookup only reads, so set
// MaxAttempts above 1 when a second run costs nothing but time. The circuit
// breaker and the per-attempt timeout of the pipeline apply as configured.
//
// # When to choose it
//
// Choose simple when jobs finish in seconds, well within the timeouts of every
// proxy and load balancer on the way, and when losing a running job to a
// dropped connection only costs running it again. It has the least overhead of
// the strategies: one round trip and no stored state.
//
// Choose another strategy when jobs take minutes, when the network drops
// connections often, when the caller needs progress reports, or when the
// result must survive a client or server restart. Polling and websocket resume
// a job by its ID, and callback delivers the result to the client.
//
// # Example
//
//	// Server
//	engine := &lookup.Engine{Source: lookup.DefaultDemo()}
//	mux.Handle("/", simple.NewHandler(jobs.EngineRunner(engine), simple.HandlerConfig{}))
//
//	// Client
//	client, err := simple.NewClient[lookup.Request, lookup.Result]("http://127.0.0.1:8080", simple.Config{})
//	if err != nil {
//		return err
//	}
//	defer client.Close()
//	res, err := client.Do(ctx, lookup.Request{ProductIDs: []string{"1", "2"}})
//
// # Caveats
//
//   - No progress: Do ignores transport.WithProgress, because the response is
//     written once, when the job ends.
//   - A dropped connection loses the work: the engine is stopped, and its
//     partial result is gone.
//   - No resume: a call has no job ID, so a client that restarts or loses its
//     connection can only send the request again.
//   - Proxies and load balancers between client and server often close
//     requests that stay silent for 60 seconds or more. The handler sends
//     nothing until the job ends, so such a proxy ends long jobs early.
//   - The owner returned by HandlerConfig.Authorize only gates the request,
//     because no job is stored.
package simple
