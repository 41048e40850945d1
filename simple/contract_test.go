package simple_test

import (
	"net/http"
	"testing"

	"github.com/longhaul-go/longhaul/internal/contract"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/simple"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

func TestContract(t *testing.T) {
	contract.Run(t, contract.Suite{
		Strategy: transport.StrategySimple,
		NewServer: func(t *testing.T, engine contract.Engine) http.Handler {
			return simple.NewHandler(jobs.EngineRunner(engine), simple.HandlerConfig{})
		},
		NewClient: func(t *testing.T, baseURL string) contract.Client {
			client, err := simple.NewClient[lookup.Request, lookup.Result](baseURL, simple.Config{})
			if err != nil {
				t.Fatalf("NewClient(%q): %v", baseURL, err)
			}
			return client
		},
		// A cut connection loses the running job, and simple calls are not
		// retried by default.
		OnCut: contract.RetryableError,
	})
}
