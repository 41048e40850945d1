package transport

import (
	"fmt"
	"strings"
)

// Strategy is the name of a transport strategy, the way a call's request and
// result travel between client and server.
type Strategy string

// The four strategies. Their trade-offs are described in the longhaul package.
const (
	// StrategySimple sends one HTTP request and holds it open until the job ends.
	StrategySimple Strategy = "simple"
	// StrategyPolling submits a job, receives its ID at once and polls for the result.
	StrategyPolling Strategy = "polling"
	// StrategyCallback submits a job with a URL to which the server delivers the result.
	StrategyCallback Strategy = "callback"
	// StrategyWebSocket carries submit, progress and result over one long-lived socket.
	StrategyWebSocket Strategy = "websocket"
)

// Strategies lists every strategy in a stable order.
var Strategies = []Strategy{StrategySimple, StrategyPolling, StrategyCallback, StrategyWebSocket}

// ParseStrategy returns the strategy named s, ignoring case and surrounding space.
func ParseStrategy(s string) (Strategy, error) {
	name := Strategy(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range Strategies {
		if name == known {
			return known, nil
		}
	}
	return "", fmt.Errorf("transport: unknown strategy %q: use one of simple, polling, callback, websocket", s)
}

// String returns the strategy's name.
func (s Strategy) String() string { return string(s) }
