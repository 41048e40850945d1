// Package jobstest checks that an implementation of jobs.Store keeps the
// contract that the job runtime relies on, the way testing/fstest checks a
// file system.
//
// Call TestStore from a test of the store's own package:
//
//	func TestRedisStore(t *testing.T) {
//		jobstest.TestStore(t, func(t *testing.T) jobs.Store {
//			return newRedisStore(t) // a store that shares nothing with other calls
//		})
//	}
//
// TestStore runs one subtest per rule of the contract: Create's copies and
// idempotency keys, Get's not-found error, Update's atomicity and versions,
// Claim's order, leases and exclusivity under concurrent claimers,
// DueDeliveries, DeleteExpired and Counts.
//
// # Caveats
//
//   - Each subtest calls newStore for an empty store and closes it when the
//     subtest ends. Subtests run one after another, never in parallel, so a
//     store backed by a shared server may clear it in newStore.
//   - Times are compared to the millisecond, so a store may keep them at that
//     precision but no coarser.
//   - The concurrency subtests run a few hundred operations from a few dozen
//     goroutines. They find common races but prove no store correct.
package jobstest
