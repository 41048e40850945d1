// Command stockserver serves the stock lookup engine (package lookup) through
// all four longhaul strategies, at the routes of docs/PROTOCOL.md under the
// root path, plus GET /healthz.
//
// Run it from the repository root:
//
//	go run ./examples/stockserver
//	go run ./examples/stockserver -inventory DIR/stock.csv -products DIR/products.csv -item-delay 2s -allow-private-callbacks
//
// Without -inventory it serves the generated demo catalogue, products "1" to
// "1000". Query it with examples/stockclient, or with curl:
//
//	curl -s -X POST -H 'Content-Type: application/json' -d '{"product_ids":["1","14","1001"]}' http://127.0.0.1:8080/run
//	curl -si -X POST -H 'Content-Type: application/json' -d '{"product_ids":["1"]}' http://127.0.0.1:8080/jobs
//
// It logs to stderr with log/slog: the start, the address it listens on, each
// job's start and end with its job_id, and every error it handles. SIGINT or
// SIGTERM starts a graceful shutdown that -shutdown-timeout bounds. A second
// signal ends the process at once.
//
// Exit status: 0 after a clean shutdown, 1 when the server cannot listen or
// its shutdown does not finish in time, 2 for invalid flags or an unreadable or
// invalid CSV file.
package main
