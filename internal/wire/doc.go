// Package wire defines what the strategies' clients and servers share on the
// wire: header names, the job status document, RFC 9457 problem responses,
// request body limits, long-poll and timeout headers, and the WebSocket messages.
// docs/PROTOCOL.md describes the same protocol for other languages.
package wire
