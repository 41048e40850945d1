package websocket_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/contract"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
	"github.com/longhaul-go/longhaul/websocket"
)

func TestContract(t *testing.T) {
	contract.Run(t, contract.Suite{
		Strategy: transport.StrategyWebSocket,
		NewServer: func(t *testing.T, engine contract.Engine) http.Handler {
			rt := jobs.New(jobs.EngineRunner(engine), jobs.Config{
				PollInterval:     20 * time.Millisecond,
				ProgressInterval: time.Millisecond,
			})
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				require.NoError(t, rt.Shutdown(ctx), "runtime shutdown")
			})

			h := websocket.NewHandler(rt, websocket.HandlerConfig{})
			t.Cleanup(func() { require.NoError(t, h.Close()) })
			return h
		},
		NewClient: func(t *testing.T, baseURL string) contract.Client {
			c, err := websocket.NewClient[lookup.Request, lookup.Result](baseURL, websocket.Config{})
			require.NoError(t, err)
			return c
		},
		OnCut: contract.ResultArrives,
	})
}
