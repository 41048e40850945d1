package longhaul_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	ws "github.com/coder/websocket"

	"github.com/longhaul-go/longhaul"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport"
)

// benchRequest is the small lookup every sub-benchmark runs: three products of
// the demo catalogue, no simulated delay, so the transport's cost dominates.
var benchRequest = lookup.Request{ProductIDs: []string{"1", "2", "3"}}

// BenchmarkStrategies runs the same lookup through each strategy of the
// combined client, and through a bare net/http handler and a bare
// coder/websocket handler that run the same engine. All of them run over
// loopback in the same run, so the strategies can be read as ratios of the
// baselines.
func BenchmarkStrategies(b *testing.B) {
	engine := &lookup.Engine{Source: lookup.DefaultDemo()}

	b.Run("baseline=net-http", func(b *testing.B) { benchBareHTTP(b, engine) })
	b.Run("baseline=websocket-echo", func(b *testing.B) { benchBareWebSocket(b, engine) })

	srv := longhaul.NewServer(engine, testServerConfig())
	server := httptest.NewServer(srv)
	b.Cleanup(func() {
		server.Close()
		_ = srv.Shutdown(context.Background())
	})

	for _, strategy := range transport.Strategies {
		b.Run("strategy="+string(strategy), func(b *testing.B) {
			cfg := testClientConfig(strategy)
			client, err := longhaul.NewClient[lookup.Request, lookup.Result](server.URL, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			runBench(b, func(ctx context.Context) (lookup.Result, error) { return client.Do(ctx, benchRequest) })
		})
	}
}

func runBench(b *testing.B, call func(ctx context.Context) (lookup.Result, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// One call outside the timer opens connections and sockets.
	if _, err := call(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := call(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Items) != len(benchRequest.ProductIDs) {
			b.Fatalf("got %d items, want %d", len(res.Items), len(benchRequest.ProductIDs))
		}
	}
}

// benchBareHTTP posts the request to a plain handler that decodes it, runs the
// engine and encodes the result: what a hand-written endpoint would do.
func benchBareHTTP(b *testing.B, engine *lookup.Engine) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req lookup.Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res, err := engine.Run(r.Context(), req, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(res)
	}))
	defer server.Close()
	client := server.Client()

	body, err := json.Marshal(benchRequest)
	if err != nil {
		b.Fatal(err)
	}
	runBench(b, func(ctx context.Context) (lookup.Result, error) {
		var res lookup.Result
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, server.URL, bytes.NewReader(body))
		if err != nil {
			return res, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return res, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			text, _ := io.ReadAll(resp.Body)
			return res, fmt.Errorf("status %s: %s", resp.Status, text)
		}
		err = json.NewDecoder(resp.Body).Decode(&res)
		return res, err
	})
}

// benchBareWebSocket sends the request on one coder/websocket connection to a
// handler that runs the engine and writes the result back.
func benchBareWebSocket(b *testing.B, engine *lookup.Engine) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		for {
			_, data, err := conn.Read(r.Context())
			if err != nil {
				return
			}
			var req lookup.Request
			if err := json.Unmarshal(data, &req); err != nil {
				return
			}
			res, err := engine.Run(r.Context(), req, nil)
			if err != nil {
				return
			}
			out, _ := json.Marshal(res)
			if err := conn.Write(r.Context(), ws.MessageText, out); err != nil {
				return
			}
		}
	}))
	defer server.Close()

	ctx := context.Background()
	conn, _, err := ws.Dial(ctx, "ws"+server.URL[len("http"):], nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ws.StatusNormalClosure, "")

	body, err := json.Marshal(benchRequest)
	if err != nil {
		b.Fatal(err)
	}
	runBench(b, func(ctx context.Context) (lookup.Result, error) {
		var res lookup.Result
		if err := conn.Write(ctx, ws.MessageText, body); err != nil {
			return res, err
		}
		_, data, err := conn.Read(ctx)
		if err != nil {
			return res, err
		}
		err = json.Unmarshal(data, &res)
		return res, err
	})
}
