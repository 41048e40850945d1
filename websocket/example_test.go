package websocket_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
	"github.com/longhaul-go/longhaul/websocket"
)

// A stock lookup over one socket: the handler runs jobs on a runtime, and the
// client dials on its first call.
func Example() {
	rt := jobs.New(jobs.EngineRunner(&lookup.Engine{Source: lookup.DefaultDemo()}), jobs.Config{})
	defer rt.Shutdown(context.Background())
	handler := websocket.NewHandler(rt, websocket.HandlerConfig{BasePath: "/api"})
	defer handler.Close()
	server := httptest.NewServer(handler)
	defer server.Close()

	client, err := websocket.NewClient[lookup.Request, lookup.Result](server.URL+"/api", websocket.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := client.Do(ctx, lookup.Request{ProductIDs: []string{"1", "2", "9999"}},
		transport.WithOnAccepted(func(jobID string) { fmt.Println("job accepted") }))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, item := range res.Items {
		fmt.Printf("%s known=%t quantity=%d\n", item.ProductID, item.Known, item.Quantity)
	}
	// Output:
	// job accepted
	// 1 known=true quantity=76
	// 2 known=true quantity=344
	// 9999 known=false quantity=0
}
