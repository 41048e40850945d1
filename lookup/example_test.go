package lookup_test

import (
	"context"
	"fmt"
	"log"

	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport"
)

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

	engine := &lookup.Engine{Source: inv}
	req := lookup.Request{ProductIDs: []string{"A-1", "B-7", "Z-9"}}
	res, err := engine.Run(context.Background(), req, func(p transport.Progress) {
		fmt.Printf("progress %d/%d\n", p.Done, p.Total)
	})
	if err != nil {
		log.Fatal(err)
	}

	for _, item := range res.Items {
		switch {
		case !item.Known:
			fmt.Printf("%s: unknown product\n", item.ProductID)
		case item.Quantity == 0:
			fmt.Printf("%s %s: out of stock\n", item.ProductID, item.Name)
		default:
			fmt.Printf("%s %s: %d on hand\n", item.ProductID, item.Name, item.Quantity)
			for _, loc := range item.Locations {
				fmt.Printf("  %d at %s\n", loc.Quantity, loc.Location)
			}
		}
	}
	// Output:
	// progress 0/3
	// progress 1/3
	// progress 2/3
	// progress 3/3
	// A-1 Cordless Drill: 15 on hand
	//   12 at Warehouse A, Rotterdam
	//   3 at North Depot, Leeds
	// B-7 Folding Ladder: out of stock
	// Z-9: unknown product
}

func ExampleRequest_Validate() {
	err := lookup.Request{ProductIDs: []string{"1", "2 3"}}.Validate()
	fmt.Println(err)
	// Output:
	// invalid-request: product_ids[1] "2 3" contains the whitespace or non-printable character U+0020 at byte 1: remove it, because product IDs contain only printable characters other than whitespace
}

func ExampleSplit() {
	req := lookup.Request{ProductIDs: []string{"1", "2", "3", "4", "5"}}
	engine := &lookup.Engine{Source: lookup.DefaultDemo()}

	var results []lookup.Result
	for _, batch := range lookup.Split(req, 2) {
		fmt.Println(batch.ProductIDs)
		res, err := engine.Run(context.Background(), batch, nil)
		if err != nil {
			log.Fatal(err)
		}
		results = append(results, res)
	}

	fmt.Println(len(lookup.Merge(results).Items), "items")
	// Output:
	// [1 2]
	// [3 4]
	// [5]
	// 5 items
}
