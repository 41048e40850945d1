// Command compare runs one stock lookup through each of the four longhaul
// strategies against a server in the same process, and prints one row per
// strategy: the time to the result, the HTTP requests, WebSocket messages and
// callback deliveries that the server saw, the outcome, and whether the result
// matches a direct run of the engine.
//
// Run it from the repository root. With the defaults it takes a few seconds:
//
//	go run ./examples/compare
//	go run ./examples/compare -ids 100 -item-delay 20ms -latency 30ms
//	go run ./examples/compare -cut
//
// The server serves the demo catalogue on a loopback port, behind a
// fault-injecting proxy (internal/faultnet) that adds -latency and, with -cut,
// cuts every open connection once halfway through each job. Fallback to
// polling is off, so each row shows what its strategy does on its own: under
// -cut the simple strategy fails, because a dropped connection loses its call.
//
// Exit status: 0 when every strategy returned the expected result, 1 when one
// failed or returned another result, 2 for invalid flags, 130 after Ctrl-C.
package main
