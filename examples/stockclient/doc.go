// Command stockclient looks up the stock of products on a stock server, such
// as examples/stockserver, through one longhaul strategy, and prints a table or
// the result JSON.
//
// Start a server, then run the client from the repository root:
//
//	go run ./examples/stockserver -allow-private-callbacks &
//	go run ./examples/stockclient 1 14 1001
//	go run ./examples/stockclient -strategy websocket -json 1 2 3
//
// A call whose strategy is unavailable falls back to polling and prints a
// warning on stderr. When stderr is a terminal, a progress bar shows on it
// while the job runs. Ctrl-C cancels the call.
//
// Exit status: 0 when the result arrived, 1 when the server is unreachable,
// rejects the lookup, the job fails or -timeout passes, 2 for invalid flags or
// product IDs, 130 after Ctrl-C.
package main
