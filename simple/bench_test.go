package simple_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/longhaul-go/longhaul/simple"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// BenchmarkRoundTrip compares a simple call with a bare net/http POST and
// JSON round trip to the same tiny engine, on loopback in the same run.
func BenchmarkRoundTrip(b *testing.B) {
	req := echoRequest{Text: "bench", N: 1}

	b.Run("bare-net-http", func(b *testing.B) {
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var in echoRequest
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(echoResult{Text: in.Text, N: in.N * 2})
		}))
		defer server.Close()
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		defer client.CloseIdleConnections()

		b.ReportAllocs()
		for b.Loop() {
			body, err := json.Marshal(req)
			if err != nil {
				b.Fatal(err)
			}
			resp, err := client.Post(server.URL+"/run", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			var res echoResult
			if err := json.Unmarshal(data, &res); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("simple", func(b *testing.B) {
		server := httptest.NewServer(simple.NewHandler(jobs.EngineRunner(upperEngine), simple.HandlerConfig{}))
		defer server.Close()
		client, err := simple.NewClient[echoRequest, echoResult](server.URL, simple.Config{})
		if err != nil {
			b.Fatal(err)
		}
		defer client.Close()

		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.Do(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
