package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT, as shells report it
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	status := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(status)
}

// config contains the parsed flags.
type config struct {
	ids       int
	itemDelay time.Duration
	latency   time.Duration
	cut       bool
	timeout   time.Duration
	json      bool
	verbose   bool
}

const usageText = `compare runs one stock lookup through each of the four longhaul strategies
(simple, polling, callback and websocket) against a server in this process,
reached through a fault-injecting proxy on loopback, and prints one row per
strategy: the time to the result, the HTTP requests, WebSocket messages and
callback deliveries the server saw, the outcome, and whether the result
matches a direct run of the engine. Fallback to polling is off, so each row
shows its strategy alone. It exits with status 1 when a strategy fails or
returns another result, which -cut causes for simple.

Usage:
  compare [flags]

Flags:
`

// parseFlags parses args into a config. It returns flag.ErrHelp for -h and
// an error that has already been printed to output for invalid flags.
func parseFlags(args []string, output io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}

	fs.IntVar(&cfg.ids, "ids", 20,
		"`number` of product IDs in the lookup, 1 to 1000. The last one is an unknown ID")
	fs.DurationVar(&cfg.itemDelay, "item-delay", 50*time.Millisecond,
		"simulated work time per product ID on the server, as a Go `duration`")
	fs.DurationVar(&cfg.latency, "latency", 0,
		"delay the proxy adds to every chunk of data in each direction, as a Go `duration` such as 20ms")
	fs.BoolVar(&cfg.cut, "cut", false,
		"cut every open connection through the proxy once, halfway through each job")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second,
		"maximum `duration` of each strategy's lookup")
	fs.BoolVar(&cfg.json, "json", false,
		"print the rows as a JSON array instead of a table")
	fs.BoolVar(&cfg.verbose, "v", false,
		"log what the server, the clients and the proxy do on stderr")

	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if err := cfg.validate(fs.Args()); err != nil {
		fmt.Fprintf(output, "compare: %v\nRun compare -h for the flags.\n", err)
		return config{}, err
	}
	return cfg, nil
}

func (c config) validate(rest []string) error {
	switch {
	case len(rest) > 0:
		return fmt.Errorf("unexpected argument %q: compare takes only flags", rest[0])
	case c.ids < 1 || c.ids > lookup.MaxProductIDs:
		return fmt.Errorf("-ids is %d: use 1 to %d", c.ids, lookup.MaxProductIDs)
	case c.itemDelay < 0:
		return fmt.Errorf("-item-delay is %v: use 0 or a positive duration", c.itemDelay)
	case c.latency < 0:
		return fmt.Errorf("-latency is %v: use 0 or a positive duration", c.latency)
	case c.timeout <= 0:
		return fmt.Errorf("-timeout is %v: use a positive duration such as 30s", c.timeout)
	}
	return nil
}

// run runs the comparison that args describe, writes the report to stdout
// and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}

	logger := slog.New(slog.DiscardHandler)
	if cfg.verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	req := lookup.Request{ProductIDs: productIDs(cfg.ids)}
	want, err := directResult(ctx, req)
	if err != nil {
		fmt.Fprintf(stderr, "compare: %v\n", err)
		return exitFailure
	}

	b, err := startBench(cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "compare: failed to start the server: %v\n", err)
		return exitFailure
	}
	rows := make([]row, 0, len(transport.Strategies))
	for _, strategy := range transport.Strategies {
		rows = append(rows, b.run(ctx, strategy, req, want))
	}
	if err := b.close(); err != nil {
		fmt.Fprintf(stderr, "compare: the server did not shut down cleanly: %v\n", err)
	}

	if cfg.json {
		err = writeJSON(stdout, rows)
	} else {
		err = writeReport(stdout, cfg, b.serverAddr, b.proxyAddr, rows)
	}
	if err != nil {
		fmt.Fprintf(stderr, "compare: failed to write the report: %v\n", err)
		return exitFailure
	}

	switch {
	case ctx.Err() != nil:
		return exitInterrupted
	case !allMatch(rows):
		return exitFailure
	}
	return exitOK
}

// productIDs returns n product IDs: "1" to strconv.Itoa(n-1) and, as the
// last one, "1001", which the demo catalogue does not contain.
func productIDs(n int) []string {
	ids := make([]string, 0, n)
	for i := 1; i < n; i++ {
		ids = append(ids, strconv.Itoa(i))
	}
	return append(ids, "1001")
}

// directResult returns the JSON of req's result from the engine itself,
// without a network or a delay, which every strategy should reproduce.
func directResult(ctx context.Context, req lookup.Request) ([]byte, error) {
	engine := &lookup.Engine{Source: lookup.DefaultDemo()}
	res, err := engine.Run(ctx, req, nil)
	if err != nil {
		return nil, fmt.Errorf("direct run of the engine failed: %w", err)
	}
	return json.Marshal(res)
}

func allMatch(rows []row) bool {
	for _, r := range rows {
		if r.Error != "" || !r.Matches {
			return false
		}
	}
	return true
}
