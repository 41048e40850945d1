package lookup_test

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/longhaul-go/longhaul/lookup"
)

func TestNewInventoryRules(t *testing.T) {
	t.Parallel()

	inv, err := lookup.NewInventory(
		[]lookup.Product{{ID: "listed", Name: "Listed Only"}, {ID: "both", Name: "Both"}},
		[]lookup.StockRow{
			{ProductID: "both", Name: "Both", Location: "East", Quantity: 3},
			{ProductID: "zero", Name: "Zero Row", Location: "East", Quantity: 0},
			{ProductID: "both", Name: "Both", Location: "West", Quantity: 4},
			{ProductID: "stock-only", Name: "Stock Only", Location: "West", Quantity: 1},
		})
	if err != nil {
		t.Fatalf("NewInventory: %v", err)
	}

	if got, want := inv.Len(), 4; got != want {
		t.Errorf("got Len %d, want %d", got, want)
	}
	tests := []struct {
		id   string
		want lookup.Item
	}{
		{"listed", lookup.Item{ProductID: "listed", Name: "Listed Only", Known: true, Locations: []lookup.Location{}}},
		{"both", lookup.Item{ProductID: "both", Name: "Both", Known: true, Quantity: 7,
			Locations: []lookup.Location{{Location: "East", Quantity: 3}, {Location: "West", Quantity: 4}}}},
		{"zero", lookup.Item{ProductID: "zero", Name: "Zero Row", Known: true, Locations: []lookup.Location{}}},
		{"stock-only", lookup.Item{ProductID: "stock-only", Name: "Stock Only", Known: true, Quantity: 1,
			Locations: []lookup.Location{{Location: "West", Quantity: 1}}}},
		{"missing", lookup.Item{ProductID: "missing", Locations: []lookup.Location{}}},
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

func TestNewInventoryEmpty(t *testing.T) {
	t.Parallel()

	inv, err := lookup.NewInventory(nil, nil)
	if err != nil {
		t.Fatalf("NewInventory: %v", err)
	}
	if inv.Len() != 0 {
		t.Errorf("got Len %d, want 0", inv.Len())
	}
}

func TestNewInventoryErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		products []lookup.Product
		stock    []lookup.StockRow
		want     []string // fragments the error must contain
	}{
		{"empty product ID", []lookup.Product{{ID: "1"}, {ID: ""}}, nil,
			[]string{"products[1]", `product_id ""`, "empty"}},
		{"product ID with space", nil, []lookup.StockRow{{ProductID: "a b", Location: "X", Quantity: 1}},
			[]string{"stock[0]", `"a b"`, "U+0020"}},
		{"product listed twice", []lookup.Product{{ID: "1", Name: "A"}, {ID: "1", Name: "A"}}, nil,
			[]string{"products[1]", "listed twice", "first at products[0]"}},
		{"negative quantity", nil, []lookup.StockRow{{ProductID: "1", Location: "X", Quantity: -2}},
			[]string{"stock[0]", "quantity -2", "negative"}},
		{"empty location", nil, []lookup.StockRow{{ProductID: "1", Quantity: 1}},
			[]string{"stock[0]", "location", "empty"}},
		{"same product and location twice", nil, []lookup.StockRow{
			{ProductID: "1", Location: "X", Quantity: 1},
			{ProductID: "1", Location: "Y", Quantity: 1},
			{ProductID: "1", Location: "X", Quantity: 0},
		}, []string{"stock[2]", `"1" at location "X"`, "first at stock[0]", "merge"}},
		{"name differs from catalogue", []lookup.Product{{ID: "1", Name: "Anvil"}},
			[]lookup.StockRow{{ProductID: "1", Name: "Anvill", Location: "X", Quantity: 1}},
			[]string{"stock[0]", `named "Anvill" here but "Anvil" at products[0]`}},
		{"name differs between rows", nil, []lookup.StockRow{
			{ProductID: "1", Name: "Anvil", Location: "X", Quantity: 1},
			{ProductID: "1", Name: "Hammer", Location: "Y", Quantity: 1},
		}, []string{"stock[1]", `"Hammer" here but "Anvil" at stock[0]`}},
		{"total overflows", nil, []lookup.StockRow{
			{ProductID: "1", Location: "X", Quantity: math.MaxInt},
			{ProductID: "1", Location: "Y", Quantity: 1},
		}, []string{"stock[1]", "overflow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			inv, err := lookup.NewInventory(tt.products, tt.stock)
			if err == nil {
				t.Fatalf("got inventory with %d products, want an error", inv.Len())
			}
			for _, fragment := range tt.want {
				if !strings.Contains(err.Error(), fragment) {
					t.Errorf("got error %q, want it to contain %q", err, fragment)
				}
			}
		})
	}
}
