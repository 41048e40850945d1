package polling_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/polling"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// A stock lookup through a polling server on loopback: the server runs the
// jobs on a jobs.Runtime, and the client submits, polls and decodes the result.
func Example() {
	inv, err := lookup.NewInventory(
		[]lookup.Product{{ID: "A-1", Name: "Cordless Drill"}, {ID: "B-7", Name: "Folding Ladder"}},
		[]lookup.StockRow{
			{ProductID: "A-1", Name: "Cordless Drill", Location: "Warehouse A, Rotterdam", Quantity: 12},
			{ProductID: "A-1", Name: "Cordless Drill", Location: "North Depot, Leeds", Quantity: 3},
		})
	if err != nil {
		log.Fatal(err)
	}

	rt := jobs.New(jobs.EngineRunner(&lookup.Engine{Source: inv}), jobs.Config{})
	defer rt.Shutdown(context.Background())
	server := httptest.NewServer(polling.NewHandler(rt, polling.HandlerConfig{}))
	defer server.Close()

	client, err := polling.NewClient[lookup.Request, lookup.Result](server.URL, polling.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	res, err := client.Do(context.Background(), lookup.Request{ProductIDs: []string{"A-1", "B-7", "Z-9"}})
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

type sumRequest struct {
	Numbers []int `json:"numbers"`
}

type sumResult struct {
	Sum int `json:"sum"`
}

// Submit returns the job ID at once. A client that stores the ID can wait for
// the result later, even from another process, with Resume.
func ExampleClient_Resume() {
	sum := transport.EngineFunc[sumRequest, sumResult](func(ctx context.Context, req sumRequest, _ transport.ProgressFunc) (sumResult, error) {
		total := 0
		for _, n := range req.Numbers {
			total += n
		}
		return sumResult{Sum: total}, nil
	})
	rt := jobs.New(jobs.EngineRunner(sum), jobs.Config{})
	defer rt.Shutdown(context.Background())
	server := httptest.NewServer(polling.NewHandler(rt, polling.HandlerConfig{BasePath: "/api"}))
	defer server.Close()

	client, err := polling.NewClient[sumRequest, sumResult](server.URL+"/api", polling.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx := context.Background()
	jobID, err := client.Submit(ctx, sumRequest{Numbers: []int{19, 23}})
	if err != nil {
		log.Fatal(err)
	}
	res, err := client.Resume(ctx, jobID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sum:", res.Sum)
	// Output:
	// sum: 42
}
