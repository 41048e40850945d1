package simple_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/longhaul-go/longhaul/simple"
)

func TestHandlerStalledBodiesHoldNoSlot(t *testing.T) {
	t.Parallel()
	server := startServer(t, upperEngine, simple.HandlerConfig{MaxConcurrent: 1})
	addr := strings.TrimPrefix(server.URL, "http://")

	// Two clients send their headers, promise a body and never send it.
	for i := range 2 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer conn.Close()
		head := fmt.Sprintf("POST /run HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n", addr)
		if _, err := conn.Write([]byte(head)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}

	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	got, err := client.Do(ctx, echoRequest{Text: "go", N: 2})
	if err != nil {
		t.Fatalf("Do with two stalled bodies on a server with one slot: %v", err)
	}
	if got.Text != "GO" || got.N != 4 {
		t.Errorf("Do = %+v, want {Text:GO N:4}", got)
	}
}
