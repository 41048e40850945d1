// Package polling is the polling strategy of longhaul: the client submits a
// job, receives its ID at once, and polls the job's status until the job ends.
// The client and the server handler live side by side in this package.
//
// # Model
//
// A call is a job on the server, named by an unguessable ID. The client sends
// the request with POST {base}/jobs and the server responds with 202 Accepted,
// the job's status document, its Location and its ETag, before the job runs.
// The client then reads GET {base}/jobs/{id} until the job's state is
// succeeded, failed or canceled. Each read is a long-poll: the client sends
// the last ETag in If-None-Match and Prefer: wait=N (Config.LongPoll, 25 s by
// default), and the server holds the request open until the job changes or the
// wait passes. So progress and the result arrive as soon as the server records
// them, and an idle job costs one request per wait. DELETE {base}/jobs/{id} cancels the job.
//
// # Lifecycle
//
// Client.Do runs the whole call: submit, OnAccepted with the job ID, long-polls
// with OnProgress on every change of progress, then the result decoded into Res,
// or a *transport.JobError with the job ID when the job failed or was canceled.
// The parts are methods too: Submit returns the job ID without waiting, Resume
// waits for a job by ID (after a restart, say), and Cancel cancels one.
//
// On the server, NewHandler serves the three endpoints over a jobs.Runtime,
// which runs the jobs on its worker pool and keeps finished jobs readable for
// its retention period (24 h by default). A job is readable the moment its 202
// is sent.
//
// # Guarantees
//
//   - Every network step (submit, each status request, the cancel) runs through
//     the Client's transport.Pipeline. It retries network failures and 429, 502,
//     503 and 504 responses with backoff, honouring a capped Retry-After. A
//     circuit breaker guards each server, and an optional timeout bounds each
//     attempt. The retries bound the submit, which fails with
//     transport.ErrUnavailable when the server cannot be reached before any
//     job exists.
//   - Once the server has accepted the job, an outage costs the call nothing
//     but time: after acceptance the call is bounded by the caller's context
//     and Close, not by the retry policy. A status request that fails after
//     its retries, or that the circuit breaker rejects, is logged as a warning
//     with the job_id (failures 1, 2, 4, 8 and so on of one outage). It is
//     sent again after a backoff that doubles from Retry.BaseDelay up to
//     Retry.MaxDelay, with jitter, until the server responds. So a refused connection, a restart of the server or a new
//     server on the same store leaves the call waiting for the job, which
//     keeps running. While the server's breaker is open or half-open, these
//     requests go outside it, one attempt each, because its OpenTimeout (30 s
//     by default) would otherwise hold the call long after a short outage.
//     The breaker still rejects new submits. A *transport.JobError ends the
//     call at once, such as not-found for a job that expired or that a
//     server with an in-memory store lost in a restart.
//   - A submit carries an Idempotency-Key, random per call unless the call sets
//     one with transport.WithIdempotencyKey, and every retry sends the same key.
//     A submit whose response was lost therefore returns the job of the first
//     attempt instead of starting a second one. The same key with another
//     request body is rejected with 409 (code idempotency-conflict).
//   - A connection that breaks during a status request costs nothing: the next
//     request reads the same job. A request that receives no data for 30 s
//     beyond its long-poll wait is abandoned and retried, so a connection that
//     the network black-holes does not hang the call. The job keeps running
//     while the client is away, and Resume picks it up by ID.
//   - A proxy or gateway that closes idle connections sooner than the
//     long-poll wait does not fail the call either. When a long-poll that had
//     been open for at least 1 s breaks before the server responded, the call
//     halves its wait, down to 1 s, and polls again at once without counting
//     a failure. The first shortening of each call is logged at Info.
//   - The caller's deadline travels with the submit in the Longhaul-Timeout
//     header, so the server stops the job when the caller can no longer use it.
//   - When the caller's context ends, Do returns at once with an error that
//     matches ctx.Err(), and sends DELETE for the job in the background, bounded
//     by 2 s, so the server stops working for a caller that gave up.
//
// # When to choose it
//
// Choose polling when jobs take seconds to minutes and the network between
// client and server may drop or stall, and the client cannot offer an HTTP
// endpoint for callbacks. It needs nothing but outgoing HTTP requests, passes
// proxies that cut idle connections (the client shortens its long-polls to
// fit them), and survives a client restart through the job ID. It costs a
// request per change or per LongPoll, and adds a round trip to short jobs
// compared with the simple strategy.
//
// # Example
//
//	client, err := polling.NewClient[lookup.Request, lookup.Result]("http://127.0.0.1:8080", polling.Config{})
//	if err != nil {
//		return err
//	}
//	defer client.Close()
//
//	res, err := client.Do(ctx, lookup.Request{ProductIDs: []string{"1", "2"}},
//		transport.WithOnAccepted(func(id string) { log.Printf("job %s accepted", id) }),
//		transport.WithProgress(func(p transport.Progress) { log.Printf("%d/%d", p.Done, p.Total) }))
//
// and on the server:
//
//	rt := jobs.New(jobs.EngineRunner[lookup.Request, lookup.Result](&lookup.Engine{}), jobs.Config{})
//	defer rt.Shutdown(context.Background())
//	http.Handle("/", polling.NewHandler(rt, polling.HandlerConfig{}))
//
// # Caveats
//
//   - A call whose context ends before the 202 arrives cannot cancel its job,
//     because the client does not know the job's ID yet. The job's deadline,
//     sent when the caller's context has one, still ends it on the server.
//   - The cancel after a caller gave up is best effort: when it fails, the job
//     runs until it ends or passes its deadline, and a warning is logged.
//   - Resume does not cancel the job when its context ends, and Close does not
//     cancel the jobs of the calls it ends; call Cancel for that.
//   - Progress is sampled: the runtime stores at most one report per
//     jobs.Config.ProgressInterval, and the client sees the latest one at
//     each status request, so it may skip steps.
//   - Without a deadline on the caller's context, a call whose server never
//     comes back after accepting the job keeps waiting until ctx ends or Close
//     is called, with a status request every half to whole Retry.MaxDelay
//     (5 to 10 s by default). Give calls a deadline to bound the wait.
//   - The long-poll wait is never shortened below 1 s, so a proxy that closes
//     connections idle for less than that cuts every long-poll. The call then
//     waits as through an outage, with failed requests and backoff, and reads
//     the result once the job has ended.
//   - The client reads status documents of at most 64 MiB, which bounds the
//     size of a result.
//   - The 30 s limit without data is fixed. A server or proxy that pauses
//     longer inside a response is treated like a broken connection.
//   - The handler ends long-polls on the runtime's notifications and, for
//     changes made by other processes sharing the store, from reads every
//     jobs.Config.PollInterval, so such changes arrive up to that late.
package polling
