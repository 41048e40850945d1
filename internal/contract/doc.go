// Package contract is the test suite that every strategy's client passes: the
// same lookups, concurrency, cancellation, job failure and a connection cut
// mid-job, against a real server on loopback behind a fault-injecting proxy.
package contract
