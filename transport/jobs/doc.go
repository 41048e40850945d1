// Package jobs is the server-side job runtime shared by the polling, callback
// and websocket strategies. It queues submitted jobs, runs them on a bounded pool
// of workers and records their progress and end in a Store. It lets handlers
// wait for a change and cancel a job, and keeps finished jobs for a retention
// period.
//
// # Lifecycle
//
// Submit stores a job as queued and returns it at once, so a job is readable the
// instant the response to its submit is sent. A worker claims it (queued ->
// running) under a lease that it renews every Lease/3. The worker runs the
// engine with a context that ends on cancel, on the caller's deadline, or at
// shutdown, and stores the end: succeeded with the result, failed with a
// problem, or canceled. Finished jobs are deleted Retention (default 24 hours)
// after they end.
//
// Shutdown stops claiming, lets running jobs finish until its context ends, then
// cancels them and writes them back as queued, on a context of its own, so that
// the next runtime on the same store runs them again. A process that crashes
// leaves its running jobs with a lease that runs out, and another runtime
// sharing the store then takes them over. Either way a job may run more than
// once, which is why engines must be idempotent.
//
// # Stores
//
// MemoryStore is the zero-setup default and loses everything when the process
// exits. Durable and shared stores implement the same Store interface, and the
// jobstest package contains the conformance suite that every store passes.
//
//	rt := jobs.New(jobs.EngineRunner(engine), jobs.Config{Workers: 8})
//	defer rt.Shutdown(context.Background())
//
// # Caveats
//
//   - Waiters in this process are woken at once, but changes made by another
//     process sharing the store are seen only on the next PollInterval.
//   - The queue-depth check happens before the idempotency lookup, so a retried
//     submit can get ErrQueueFull even though its job exists.
//   - Idempotency keys live as long as their job, so after retention the same
//     key starts a new job.
package jobs
