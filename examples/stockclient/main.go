package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/longhaul-go/longhaul"
	"github.com/longhaul-go/longhaul/callback"
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
	status := run(ctx, os.Args[1:], environment{
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		terminal: term.IsTerminal(int(os.Stderr.Fd())),
	})
	stop()
	os.Exit(status)
}

// environment is the output streams of run and the settings that depend on them.
type environment struct {
	stdout   io.Writer
	stderr   io.Writer
	terminal bool // stderr is a terminal, so a progress bar can be drawn on it

	// attempts overrides the maximum number of attempts of each network step,
	// and 0 means the library's default. Tests lower it to fail fast on an
	// unreachable server.
	attempts int
}

// config contains the parsed flags and arguments.
type config struct {
	server         string
	strategy       transport.Strategy
	callbackListen string
	timeout        time.Duration
	json           bool
	verbose        bool
	productIDs     []string
}

const usageText = `stockclient looks up the stock of the given product IDs on a longhaul stock
server, such as examples/stockserver, through one strategy: simple, polling,
callback or websocket. It prints a table with each product's name, whether the
product is known, its quantity and its locations, or the result JSON with -json.
A call whose strategy is unavailable falls back to polling and logs a warning.
The callback strategy starts a receiver at -callback-listen, which the server
must be able to reach: a server on the same machine needs
-allow-private-callbacks. A progress bar shows on stderr when it is a terminal.

Usage:
  stockclient [flags] PRODUCT_ID...

Flags:
`

// parseFlags parses args into a config. It returns flag.ErrHelp for -h and
// an error that has already been printed to output for invalid flags.
func parseFlags(args []string, output io.Writer) (config, error) {
	var cfg config
	var strategy string
	fs := flag.NewFlagSet("stockclient", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}

	fs.StringVar(&cfg.server, "server", "http://127.0.0.1:8080",
		"base `URL` of the stock server")
	fs.StringVar(&strategy, "strategy", string(transport.StrategyPolling),
		"`strategy` of the call: simple, polling, callback or websocket")
	fs.StringVar(&cfg.callbackListen, "callback-listen", "127.0.0.1:0",
		"TCP `address` (host:port) where the callback receiver listens. Port 0 picks a free port. Used by -strategy callback")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Minute,
		"maximum `duration` of the whole lookup, as a Go duration such as 30s or 10m")
	fs.BoolVar(&cfg.json, "json", false,
		"print the result as indented JSON instead of a table")
	fs.BoolVar(&cfg.verbose, "v", false,
		"log every step of the call on stderr, not only warnings and errors")

	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	cfg.productIDs = fs.Args()

	err := cfg.setStrategy(strategy)
	if err == nil {
		err = cfg.validate()
	}
	if err != nil {
		fmt.Fprintf(output, "stockclient: %v\nRun stockclient -h for the usage.\n", err)
		return config{}, err
	}
	return cfg, nil
}

func (c *config) setStrategy(name string) error {
	strategy, err := transport.ParseStrategy(name)
	if err != nil {
		return fmt.Errorf("-strategy %q is not a strategy: use simple, polling, callback or websocket", name)
	}
	c.strategy = strategy
	return nil
}

func (c *config) validate() error {
	if len(c.productIDs) == 0 {
		return errors.New("no product IDs: pass one or more as arguments, such as stockclient 1 14 1001")
	}
	if c.timeout <= 0 {
		return fmt.Errorf("-timeout is %v: use a positive duration such as 10m", c.timeout)
	}
	if _, _, err := net.SplitHostPort(c.callbackListen); err != nil {
		return fmt.Errorf("-callback-listen %q is not a host:port address, such as 127.0.0.1:0: %v", c.callbackListen, err)
	}
	if err := (lookup.Request{ProductIDs: c.productIDs}).Validate(); err != nil {
		return fmt.Errorf("invalid product IDs: %s", problemDetail(err))
	}
	return nil
}

// errTimeout is the cause of the call's context when -timeout passes.
var errTimeout = errors.New("stockclient: -timeout passed")

// run runs the lookup that args describe until it ends or ctx ends, and
// returns the exit status.
func run(ctx context.Context, args []string, env environment) int {
	cfg, err := parseFlags(args, env.stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}

	console := newConsole(env.stderr, env.terminal)
	client, err := newClient(cfg, env, console)
	if err != nil {
		fmt.Fprintf(env.stderr, "stockclient: invalid -server or -callback-listen: %v\n", err)
		return exitUsage
	}
	defer client.Close()

	callCtx, cancel := context.WithTimeoutCause(ctx, cfg.timeout, errTimeout)
	defer cancel()

	var jobID jobIDRecorder
	opts := []transport.CallOption{transport.WithOnAccepted(jobID.set)}
	if console.drawsBar() {
		// The first bar shows that the call is under way, also for the
		// simple strategy, which reports no progress.
		console.progress(transport.Progress{})
		opts = append(opts, transport.WithProgress(console.progress))
	}
	res, err := client.Do(callCtx, lookup.Request{ProductIDs: cfg.productIDs}, opts...)
	console.clearBar()
	if err != nil {
		fmt.Fprintf(env.stderr, "stockclient: %s\n", sanitize(describeError(err, callCtx, cfg, jobID.get())))
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return exitFailure
	}

	if cfg.json {
		err = writeJSON(env.stdout, res)
	} else {
		err = writeTable(env.stdout, res)
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "stockclient: failed to write the result: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// newClient returns the combined client that cfg describes. Its log lines go
// to console: warnings and errors, such as retries and a fallback to polling,
// or every line with -v.
func newClient(cfg config, env environment, console *console) (*longhaul.Client[lookup.Request, lookup.Result], error) {
	level := slog.LevelWarn
	if cfg.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(console, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: dropTime,
	}))

	clientCfg := longhaul.ClientConfig{
		Strategy: cfg.strategy,
		Logger:   logger,
		Callback: callback.Config{Listen: cfg.callbackListen},
	}
	clientCfg.Pipeline.Retry.MaxAttempts = env.attempts
	return longhaul.NewClient[lookup.Request, lookup.Result](cfg.server, clientCfg)
}

// dropTime removes the time from log lines, which a person reads as they appear.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// describeError returns the message for a failed call. callCtx is the call's
// context, whose cause distinguishes a timeout from Ctrl-C.
func describeError(err error, callCtx context.Context, cfg config, jobID string) string {
	job := ""
	if jobID != "" {
		job = " (job " + jobID + ")"
	}

	var jobErr *transport.JobError
	var netErr *net.OpError
	switch {
	case errors.Is(context.Cause(callCtx), errTimeout):
		return fmt.Sprintf("no result within -timeout %v%s: raise -timeout or request fewer product IDs", cfg.timeout, job)
	case callCtx.Err() != nil:
		return "canceled" + job
	case errors.As(err, &jobErr) && jobErr.JobID == "":
		hint := ""
		if cfg.strategy == transport.StrategyCallback && jobErr.Problem.Code == transport.CodeInvalidRequest {
			// The product IDs passed Validate already, so the callback URL is the likely cause.
			hint = " (a stockserver on this machine or network must run with -allow-private-callbacks to deliver to -callback-listen)"
		}
		return fmt.Sprintf("the stock server rejected the lookup (%s, status %d): %s%s",
			jobErr.Problem.Code, jobErr.Problem.Status, problemDetail(&jobErr.Problem), hint)
	case errors.As(err, &jobErr):
		return fmt.Sprintf("job %s failed (%s): %s", jobErr.JobID, jobErr.Problem.Code, problemDetail(&jobErr.Problem))
	case errors.Is(err, transport.ErrUnavailable) && errors.As(err, &netErr):
		return fmt.Sprintf("cannot reach the stock server at %s: %v: is stockserver running?", cfg.server, err)
	case errors.Is(err, transport.ErrUnavailable):
		return fmt.Sprintf("the stock server at %s stayed unavailable through every retry%s: %v", cfg.server, job, err)
	case transport.IsCircuitOpen(err):
		return fmt.Sprintf("the stock server at %s failed repeatedly, so the client stopped sending to it (circuit breaker open)%s: %v: is stockserver running?", cfg.server, job, err)
	}
	return fmt.Sprintf("lookup failed%s: %v", job, err)
}

// problemDetail returns the detail of the problem that err wraps, or its title
// when the detail is empty, or the error's text when it wraps none.
func problemDetail(err error) string {
	var p *transport.Problem
	if !errors.As(err, &p) {
		return err.Error()
	}
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}
