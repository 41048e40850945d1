// Package callback is the callback strategy of longhaul. The client submits a
// job with the URL of its own receiver and the server responds at once. When
// the job ends, the server delivers the result to that URL, and it retries
// from its job store while the receiver cannot be reached. The client and the server
// handler live side by side in this package, with the Standard Webhooks
// signing that the deliveries use.
//
// # Model
//
// A call is a job on the server, named by an unguessable ID. The client sends
// the request with POST {base}/jobs and two headers: Longhaul-Callback-Url, the
// URL of its receiver with a token naming the call, and
// Longhaul-Callback-Secret, a fresh Standard Webhooks secret ("whsec_" and
// base64) made for this call alone. The server responds 202 Accepted with the
// job's status document before the job runs. When the job succeeds, fails or
// is canceled, the server POSTs the same status document to the URL, signed
// as the Standard Webhooks specification sets out:
//
//	webhook-id:        msg_<job ID>, the same on every attempt
//	webhook-timestamp: Unix seconds of this attempt
//	webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body" under the secret's key>
//
// Any Standard Webhooks verifier accepts the deliveries; Sign, Verify and
// NewSecret implement the scheme for code that does not use Client.
// GET {base}/jobs/{id} and DELETE {base}/jobs/{id} work as in package
// polling, so the result stays readable by ID however the deliveries go.
//
// # Lifecycle
//
// Client.Do starts the built-in receiver on its first call (an http.Server on
// Config.Listen, a free loopback port by default). It submits and calls
// OnAccepted with the job ID. Then it waits for whichever comes first: the
// delivery, which the receiver verifies with the call's secret, or a read of
// the job by ID, made every FallbackPollInterval (30 s by default). With the
// OnProgress option the reads come every ProgressInterval (1 s) and carry the
// progress.
// A job that failed or was canceled ends the call with a *transport.JobError.
// Resume waits for a job by ID after a restart, and Cancel cancels one.
//
// A submit with an idempotency key that an earlier call used returns that
// call's job, whose deliveries go to the earlier call's URL and secret. Do
// detects such a replay by the Idempotent-Replayed header, or by a callback
// URL in the returned status document that is not its own. It then waits for
// no delivery: it reads the job at once and long-polls it until it ends, as
// package polling does.
//
// On the server, NewHandler serves the routes over a jobs.Runtime and starts
// a dispatcher. It wakes when a job of the runtime finishes, when a retry it
// scheduled comes due, and every DispatchInterval. It reads the due
// deliveries from the store
// (Store.DueDeliveries), and sends up to MaxConcurrentDeliveries at once, each
// bounded by DeliveryTimeout. Each attempt is recorded in the job
// (Job.Callback). A 2xx response marks the delivery delivered. 410 Gone marks
// it dead at once, because the receiver will never want it, and so does a
// connection that the address check refuses, because no retry under the same
// configuration can pass it. Anything else, including a redirect, which is
// never followed, schedules a retry. Shutdown stops the dispatcher, and the
// deliveries it interrupts stay pending in the store.
//
// # Guarantees
//
//   - Deliveries survive a receiver that is down. After each failure the
//     schedule waits a random time below a ceiling that starts at 1 s and
//     doubles up to 1 h (full jitter). It keeps trying for 25 h after the job
//     finished, with the last attempt at that time. Then the delivery is
//     dead-lettered: its state becomes "dead" with the last error, and the
//     result stays readable by ID for at least the runtime's retention after
//     that attempt. With the defaults a receiver that never responds gets
//     roughly 60 attempts (an estimate from the mean of the jitter).
//     RetrySchedule sets all three values.
//   - Pending deliveries live in the job store, so with a durable store they
//     resume after a server restart, and a delivery interrupted by a crash is
//     retried after twice the DeliveryTimeout.
//   - A receiver can trust a delivery: it is signed with the call's own
//     secret, carries a fresh timestamp, and the Receiver checks the
//     signature in constant time and refuses timestamps more than 5 minutes
//     from its clock. A tampered or unsigned delivery gets 401 and is ignored.
//   - The server does not become a proxy into its own network. Unless
//     AllowPrivateCallbacks is set, a callback URL whose host is a loopback,
//     private, link-local, carrier-grade NAT, multicast, unspecified,
//     broadcast or otherwise reserved address (also when written as IPv4 in
//     IPv6) is refused: literal addresses and "localhost" with 400 at submit,
//     host names at every connection, after DNS resolution, by the dialer.
//     Deliveries follow no redirect and read at most 4 KiB of a response.
//   - The client never waits for a delivery alone: it reads the job by ID now
//     and then, so a call ends even when no delivery can reach it.
//   - The submit, the reads and the cancel run through the same
//     transport.Pipeline as package polling: retries with backoff, an
//     Idempotency-Key per call reused on every retry, a circuit breaker per
//     server, and the caller's deadline in the Longhaul-Timeout header. When
//     the caller's context ends, Do returns at once and sends DELETE for the
//     job in the background, bounded by 2 s. A call whose own deadline
//     passes returns an error that matches context.DeadlineExceeded, also
//     when the server ended the job a moment earlier at the deadline that
//     the submit sent, which Longhaul-Timeout rounds to milliseconds.
//
// # When to choose it
//
// Choose callback when jobs take long, the client can offer an HTTP endpoint
// that the server reaches, and the result must arrive even if the connection
// to the server drops for hours: nothing is held open while the job runs, and
// the server, not the client, retries. It suits services that call each other
// inside one platform, and clients that already run an HTTP server. When the
// client sits behind NAT or a firewall that the server cannot cross, choose
// polling or websocket instead.
//
// # Example
//
//	client, err := callback.NewClient[lookup.Request, lookup.Result]("https://stock.example.com", callback.Config{
//		Listen:    ":8081",
//		PublicURL: "https://worker-7.example.com:8081/callbacks",
//	})
//	if err != nil {
//		return err
//	}
//	defer client.Close()
//	res, err := client.Do(ctx, lookup.Request{ProductIDs: []string{"1", "2"}})
//
// and on the server:
//
//	rt := jobs.New(jobs.EngineRunner[lookup.Request, lookup.Result](&lookup.Engine{}), jobs.Config{})
//	handler := callback.NewHandler(rt, callback.HandlerConfig{})
//	defer handler.Shutdown(context.Background())
//	http.Handle("/", handler)
//
// To serve the receiver from an HTTP server of your own, set PublicURL, leave
// Listen empty, and mount Client.Receiver at the PublicURL's path.
//
// # Caveats
//
//   - The client must be reachable. The default receiver listens on
//     127.0.0.1, which only a server on the same host reaches, and only when
//     that server sets AllowPrivateCallbacks; elsewhere set Listen and
//     PublicURL. When deliveries cannot arrive, calls still end, but only at
//     the pace of FallbackPollInterval.
//   - Delivery is at least once: a receiver may get the same delivery again,
//     for example when its 200 was lost. The webhook-id stays the same; the
//     Receiver acknowledges repeats.
//   - A delivery that arrives after its call ended (the caller gave up, the
//     fallback read won, or the client restarted) gets 410 Gone, which ends
//     the delivery as dead. The result stays readable by ID.
//   - A submit replayed under the same idempotency key returns the job of the
//     first submit with that submit's callback URL and secret. A call that
//     reuses a key, for example after a client restart, therefore gets its
//     result by long-polling the job, never by delivery, and a failed read
//     ends it as it ends a polling call.
//   - Do keeps waiting while the server cannot be reached for the fallback
//     reads, because the delivery may still come. Give ctx a deadline.
//   - Progress travels only through the reads, at most every ProgressInterval.
//   - A HandlerConfig.HTTPClient of your own bypasses the address check unless
//     its dialer uses DialControl, and any proxy defeats it.
//   - The signature authenticates the delivery but does not encrypt it: use
//     https callback URLs when results are confidential.
//   - The give-up time counts from the job's end, also while no dispatcher
//     runs: after an outage longer than GiveUpAfter the first failed attempt
//     dead-letters the delivery.
package callback
