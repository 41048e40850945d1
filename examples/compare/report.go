package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/longhaul-go/longhaul/transport"
)

// writeJSON writes rows as an indented JSON array.
func writeJSON(w io.Writer, rows []row) error {
	data, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// writeReport writes a line on the setup, the table of rows, the full text of
// each error and what the columns count.
func writeReport(w io.Writer, cfg config, serverAddr, proxyAddr string, rows []row) error {
	cuts := "no connection cuts"
	if cfg.cut {
		cuts = "every connection cut once halfway through each job"
	}
	fmt.Fprintf(w, "%d product IDs, %v of work per ID, %v latency, %s\n", cfg.ids, cfg.itemDelay, cfg.latency, cuts)
	fmt.Fprintf(w, "server on %s behind the proxy on %s, fallback to polling off\n\n", serverAddr, proxyAddr)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := []string{"STRATEGY", "TIME", "HTTP REQUESTS", "WS MESSAGES IN/OUT", "CALLBACKS"}
	if cfg.cut {
		header = append(header, "CUT CONNECTIONS")
	}
	fmt.Fprintln(tw, strings.Join(append(header, "OUTCOME", "RESULT"), "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(tableRow(r, cfg.cut), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	for _, r := range rows {
		if r.Error != "" {
			fmt.Fprintf(w, "\n%s failed: %s\n", r.Strategy, r.Error)
		}
	}
	_, err := fmt.Fprint(w, `
HTTP requests include the WebSocket upgrade. WebSocket messages are data
messages without pings and closes. Both are counted at the server. Callbacks
are the server's delivery attempts to the client's receiver, which do not pass
the proxy. RESULT compares the result with a direct run of the engine.
`)
	return err
}

// tableRow returns the cells of r. A dash stands for a count that does not
// apply to the strategy, or a result that did not arrive.
func tableRow(r row, withCuts bool) []string {
	ws, callbacks := "-", "-"
	if r.Strategy == transport.StrategyWebSocket {
		ws = fmt.Sprintf("%d/%d", r.WSMessagesIn, r.WSMessagesOut)
	}
	if r.Strategy == transport.StrategyCallback {
		callbacks = strconv.FormatInt(r.Deliveries, 10)
	}

	outcome, result := "ok", "same"
	switch {
	case r.Error != "":
		outcome, result = "failed", "-"
	case !r.Matches:
		result = "differs"
	}

	cells := []string{string(r.Strategy), r.Duration.Round(time.Millisecond).String(),
		strconv.FormatInt(r.HTTPRequests, 10), ws, callbacks}
	if withCuts {
		cells = append(cells, strconv.FormatInt(r.CutConnections, 10))
	}
	return append(cells, outcome, result)
}
