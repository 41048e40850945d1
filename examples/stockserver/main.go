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

	"github.com/longhaul-go/longhaul"
	"github.com/longhaul-go/longhaul/callback"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// Restoring the default signal action after the first signal lets a
		// second Ctrl-C end the process while the graceful shutdown still runs.
		<-ctx.Done()
		stop()
	}()

	os.Exit(run(ctx, os.Args[1:], os.Stderr, nil))
}

// config contains the parsed flags.
type config struct {
	addr                  string
	inventory             string
	products              string
	itemDelay             time.Duration
	allowPrivateCallbacks bool
	workers               int
	retention             time.Duration
	shutdownTimeout       time.Duration
	logFormat             string
}

const usageText = `stockserver serves the stock lookup engine through all four longhaul
strategies (simple, polling, callback and websocket) at the routes of
docs/PROTOCOL.md under the root path, plus GET /healthz, which returns 200 "ok"
while the server accepts requests and 503 once it shuts down. Without
-inventory it serves the demo catalogue with products "1" to "1000". It logs
to stderr and shuts down gracefully on SIGINT or SIGTERM.

Usage:
  stockserver [flags]

Flags:
`

// parseFlags parses args into a config. It returns flag.ErrHelp for -h and
// an error that has already been printed to output for invalid flags.
func parseFlags(args []string, output io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("stockserver", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}

	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080",
		"TCP `address` (host:port) to listen on. Port 0 picks a free port")
	fs.StringVar(&cfg.inventory, "inventory", "",
		"stock CSV `file` with the header product_id,name,location,quantity (the format of the Sakila stock.csv). Empty serves the demo catalogue")
	fs.StringVar(&cfg.products, "products", "",
		"optional products CSV `file` with the header product_id,name. With it, a listed product without stock is known and out of stock. Needs -inventory")
	fs.DurationVar(&cfg.itemDelay, "item-delay", 0,
		"simulated work time per product ID, as a Go `duration` such as 2s or 150ms. 0 means no delay")
	fs.BoolVar(&cfg.allowPrivateCallbacks, "allow-private-callbacks", false,
		"deliver callbacks to loopback and private addresses, which a callback client on the same machine or network needs")
	fs.IntVar(&cfg.workers, "workers", 16,
		"maximum `number` of jobs that run at once. Further jobs wait in the queue")
	fs.DurationVar(&cfg.retention, "retention", 24*time.Hour,
		"time that a finished job's result stays readable, as a Go `duration`")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 10*time.Second,
		"maximum `duration` of a graceful shutdown: open requests and running jobs get this long to finish")
	fs.StringVar(&cfg.logFormat, "log-format", "text",
		"log `format` on stderr: text or json")

	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if err := cfg.validate(fs.Args()); err != nil {
		fmt.Fprintf(output, "stockserver: %v\nRun stockserver -h for the flags.\n", err)
		return config{}, err
	}
	return cfg, nil
}

func (c config) validate(rest []string) error {
	switch {
	case len(rest) > 0:
		return fmt.Errorf("unexpected argument %q: stockserver takes only flags", rest[0])
	case c.products != "" && c.inventory == "":
		return errors.New("-products needs -inventory: give the stock CSV file too")
	case c.itemDelay < 0:
		return fmt.Errorf("-item-delay is %v: use 0 or a positive duration", c.itemDelay)
	case c.workers < 1:
		return fmt.Errorf("-workers is %d: use 1 or more", c.workers)
	case c.retention <= 0:
		return fmt.Errorf("-retention is %v: use a positive duration such as 24h", c.retention)
	case c.shutdownTimeout <= 0:
		return fmt.Errorf("-shutdown-timeout is %v: use a positive duration such as 10s", c.shutdownTimeout)
	case c.logFormat != "text" && c.logFormat != "json":
		return fmt.Errorf("-log-format is %q: use text or json", c.logFormat)
	}
	return nil
}

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// run runs the server until ctx ends, then shuts it down, and returns the exit
// status. It calls onListen, when not nil, with the address it listens on.
func run(ctx context.Context, args []string, stderr io.Writer, onListen func(net.Addr)) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	logger := newLogger(stderr, cfg.logFormat)
	logger.Info("stockserver starting",
		"addr", cfg.addr, "item_delay", cfg.itemDelay, "workers", cfg.workers, "retention", cfg.retention,
		"allow_private_callbacks", cfg.allowPrivateCallbacks)

	inventory, source, err := loadInventory(cfg)
	if err != nil {
		logger.Error("failed to load the inventory: fix the file or run without -inventory to serve the demo catalogue", "error", err)
		return exitUsage
	}
	logger.Info("inventory loaded", "source", source, "products", inventory.Len())

	listener, err := listen(cfg.addr)
	if err != nil {
		logger.Error("failed to listen", "addr", cfg.addr, "error", err)
		return exitFailure
	}

	engine := &lookup.Engine{Source: inventory, ItemDelay: cfg.itemDelay}
	srv := longhaul.NewServer(engine, longhaul.ServerConfig{
		Logger:   logger,
		Jobs:     jobs.Config{Workers: cfg.workers, Retention: cfg.retention},
		Callback: callback.HandlerConfig{AllowPrivateCallbacks: cfg.allowPrivateCallbacks},
	})

	return serve(ctx, cfg, listener, srv, logger, onListen)
}

// loadInventory returns the inventory that cfg names and a description of its source.
func loadInventory(cfg config) (*lookup.Inventory, string, error) {
	if cfg.inventory == "" {
		return lookup.DefaultDemo(), "demo catalogue (IDs 1 to 1000)", nil
	}

	inventory, err := lookup.LoadCSV(cfg.inventory, cfg.products)
	if err != nil {
		return nil, "", err
	}
	source := cfg.inventory
	if cfg.products != "" {
		source += " with " + cfg.products
	}
	return inventory, source, nil
}

// listen opens the TCP listener and turns the common failures into advice.
func listen(addr string) (net.Listener, error) {
	listener, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return listener, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("%w: another process listens on %s: stop it or choose another address with -addr", err, addr)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("%w: ports below 1024 need privileges, so choose another port with -addr", err)
	}
	return nil, fmt.Errorf("%w: check the host and port of -addr", err)
}
