package simple_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/simple"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// exampleInventory is a small stock list for the examples.
func exampleInventory() *lookup.Inventory {
	inv, err := lookup.NewInventory(
		[]lookup.Product{{ID: "A-1", Name: "Cordless Drill"}, {ID: "B-7", Name: "Folding Ladder"}},
		[]lookup.StockRow{
			{ProductID: "A-1", Name: "Cordless Drill", Location: "Warehouse A, Rotterdam", Quantity: 12},
			{ProductID: "A-1", Name: "Cordless Drill", Location: "North Depot, Leeds", Quantity: 3},
		})
	if err != nil {
		log.Fatal(err)
	}
	return inv
}

func Example() {
	// The server: the stock lookup engine behind POST /run.
	engine := &lookup.Engine{Source: exampleInventory()}
	server := httptest.NewServer(simple.NewHandler(jobs.EngineRunner(engine), simple.HandlerConfig{}))
	defer server.Close()

	// The client: one request per call, held open until the result arrives.
	client, err := simple.NewClient[lookup.Request, lookup.Result](server.URL, simple.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// The deadline travels to the server, which stops the job when it passes.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	res, err := client.Do(ctx, lookup.Request{ProductIDs: []string{"A-1", "B-7", "Z-9"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, item := range res.Items {
		fmt.Printf("%s known=%t quantity=%d\n", item.ProductID, item.Known, item.Quantity)
	}
	// Output:
	// A-1 known=true quantity=15
	// B-7 known=true quantity=0
	// Z-9 known=false quantity=0
}

func ExampleClient_Do_errors() {
	engine := &lookup.Engine{Source: exampleInventory()}
	server := httptest.NewServer(simple.NewHandler(jobs.EngineRunner(engine), simple.HandlerConfig{}))
	defer server.Close()

	client, err := simple.NewClient[lookup.Request, lookup.Result](server.URL, simple.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	_, err = client.Do(context.Background(), lookup.Request{ProductIDs: []string{""}})

	var jobErr *transport.JobError
	switch {
	case errors.As(err, &jobErr):
		// The server rejected the request or the job failed: sending the request again fails the same way.
		fmt.Println("rejected:", jobErr.Problem.Status, jobErr.Problem.Code)
	case errors.Is(err, transport.ErrUnavailable):
		// The connection failed or was lost: the call may be retried.
		fmt.Println("unavailable, retry later:", err)
	case err != nil:
		fmt.Println("other error:", err)
	}
	// Output:
	// rejected: 400 invalid-request
}
