package lookup_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/longhaul-go/longhaul/internal/testutil"
	"github.com/longhaul-go/longhaul/lookup"
)

const (
	lethbridge = "47 MySakila Drive, Lethbridge, Canada"
	woodridge  = "28 MySQL Boulevard, Woodridge, Australia"
)

func TestSakilaItems(t *testing.T) {
	t.Parallel()

	inv := testutil.SakilaInventory(t)

	// The expected values come from stock.csv and products.csv of the Sakila data.
	tests := []struct {
		id   string
		want lookup.Item
	}{
		{"1", lookup.Item{ProductID: "1", Name: "Academy Dinosaur", Known: true, Quantity: 7,
			Locations: []lookup.Location{{Location: lethbridge, Quantity: 4}, {Location: woodridge, Quantity: 3}}}},
		{"2", lookup.Item{ProductID: "2", Name: "Ace Goldfinger", Known: true, Quantity: 2,
			Locations: []lookup.Location{{Location: woodridge, Quantity: 2}}}},
		{"14", lookup.Item{ProductID: "14", Name: "Alice Fantasia", Known: true, Locations: []lookup.Location{}}},
		// Product 189 has a row with quantity 0 at Lethbridge, which adds no location.
		{"189", lookup.Item{ProductID: "189", Name: "Creatures Shakespeare", Known: true, Quantity: 4,
			Locations: []lookup.Location{{Location: woodridge, Quantity: 4}}}},
		{"500", lookup.Item{ProductID: "500", Name: "Kiss Glory", Known: true, Quantity: 8,
			Locations: []lookup.Location{{Location: lethbridge, Quantity: 4}, {Location: woodridge, Quantity: 4}}}},
		{"1001", lookup.Item{ProductID: "1001", Locations: []lookup.Location{}}},
		{"0", lookup.Item{ProductID: "0", Locations: []lookup.Location{}}},
	}
	for _, tt := range tests {
		got, err := inv.Lookup(context.Background(), tt.id)
		if err != nil {
			t.Errorf("Lookup(%q): %v", tt.id, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Lookup(%q): got %+v, want %+v", tt.id, got, tt.want)
		}
	}
}

func TestSakilaTotals(t *testing.T) {
	t.Parallel()

	inv := testutil.SakilaInventory(t)
	if got, want := inv.Len(), 1000; got != want {
		t.Errorf("got %d known products, want %d", got, want)
	}

	inStock, total := 0, 0
	for _, item := range lookupAll(t, inv, ids(1000)...) {
		if len(item.Locations) > 0 {
			inStock++
		}
		total += item.Quantity
	}
	// stock.csv has rows for 958 films, 4,398 copies on hand in all.
	if inStock != 958 {
		t.Errorf("got %d products in stock, want 958", inStock)
	}
	if total != 4398 {
		t.Errorf("got %d units on hand, want 4398", total)
	}
}

func TestSakilaWithoutProductsFile(t *testing.T) {
	t.Parallel()

	dir := testutil.SakilaDir(t)
	inv, err := lookup.LoadCSV(filepath.Join(dir, "stock.csv"), "")
	if err != nil {
		t.Fatalf("LoadCSV: %v", err)
	}

	if got, want := inv.Len(), 958; got != want {
		t.Errorf("got %d known products, want %d", got, want)
	}
	// Without products.csv, product 14 (no stock rows) cannot be distinguished from an unknown ID.
	item, _ := inv.Lookup(context.Background(), "14")
	if item.Known {
		t.Error("product 14 without products file: got known, want unknown")
	}
}

func TestSakilaEngineJSON(t *testing.T) {
	t.Parallel()

	engine := &lookup.Engine{Source: testutil.SakilaInventory(t)}
	res, err := engine.Run(context.Background(), lookup.Request{ProductIDs: []string{"14", "1001"}}, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	got, err := json.Marshal(res)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	want := `{"items":[` +
		`{"product_id":"14","name":"Alice Fantasia","known":true,"quantity":0,"locations":[]},` +
		`{"product_id":"1001","name":"","known":false,"quantity":0,"locations":[]}]}`
	if string(got) != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
