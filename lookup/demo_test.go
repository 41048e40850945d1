package lookup_test

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/longhaul-go/longhaul/lookup"
)

// demoItems returns the items "1" to n+1 of inv. For a catalogue of n
// products, the last one is past its end.
func demoItems(t *testing.T, inv *lookup.Inventory, n int) []lookup.Item {
	t.Helper()
	return lookupAll(t, inv, ids(n+1)...)
}

func TestDemoDeterministic(t *testing.T) {
	t.Parallel()

	first := demoItems(t, lookup.Demo(200, 42), 200)
	second := demoItems(t, lookup.Demo(200, 42), 200)
	if !reflect.DeepEqual(first, second) {
		t.Error("Demo(200, 42) differs between calls, want the same catalogue")
	}
}

func TestDemoSeedsDiffer(t *testing.T) {
	t.Parallel()

	one := demoItems(t, lookup.Demo(200, 1), 200)
	two := demoItems(t, lookup.Demo(200, 2), 200)
	if reflect.DeepEqual(one, two) {
		t.Error("Demo(200, 1) and Demo(200, 2) are equal, want different catalogues")
	}
}

func TestDemoContents(t *testing.T) {
	t.Parallel()

	const size = 1000
	inv := lookup.Demo(size, 7)
	if inv.Len() != size {
		t.Fatalf("got Len %d, want %d", inv.Len(), size)
	}

	items := demoItems(t, inv, size)
	if past := items[size]; past.Known {
		t.Errorf("product %q past the catalogue: got known, want unknown", past.ProductID)
	}

	outOfStock := 0
	locations := map[string]bool{}
	for _, item := range items[:size] {
		if !item.Known {
			t.Errorf("product %q: got unknown, want known", item.ProductID)
		}
		if words := strings.Fields(item.Name); len(words) < 3 {
			t.Errorf("product %q: got name %q, want adjective, material and noun", item.ProductID, item.Name)
		}
		if len(item.Locations) > 3 {
			t.Errorf("product %q: got %d locations, want at most 3", item.ProductID, len(item.Locations))
		}

		sum := 0
		for _, loc := range item.Locations {
			if loc.Quantity < 1 || loc.Quantity > 250 {
				t.Errorf("product %q at %q: got quantity %d, want 1 to 250", item.ProductID, loc.Location, loc.Quantity)
			}
			sum += loc.Quantity
			locations[loc.Location] = true
		}
		if sum != item.Quantity {
			t.Errorf("product %q: got quantity %d, want the sum over locations %d", item.ProductID, item.Quantity, sum)
		}
		if item.Quantity == 0 {
			outOfStock++
		}
	}

	// About 8% of 1,000 are out of stock; the bounds allow for chance.
	if outOfStock < 30 || outOfStock > 150 {
		t.Errorf("got %d products out of stock, want about 80", outOfStock)
	}
	if len(locations) != 5 {
		t.Errorf("got %d distinct locations, want 5", len(locations))
	}
}

func TestDemoEmpty(t *testing.T) {
	t.Parallel()

	for _, size := range []int{0, -5} {
		if got := lookup.Demo(size, 1).Len(); got != 0 {
			t.Errorf("Demo(%d, 1): got Len %d, want 0", size, got)
		}
	}
}

func TestDefaultDemo(t *testing.T) {
	t.Parallel()

	inv := lookup.DefaultDemo()
	if inv != lookup.DefaultDemo() {
		t.Error("DefaultDemo returned two inventories, want one shared instance")
	}
	if got := inv.Len(); got != 1000 {
		t.Errorf("got Len %d, want 1000", got)
	}

	got := demoItems(t, inv, 1000)
	want := demoItems(t, lookup.Demo(1000, 1), 1000)
	if !reflect.DeepEqual(got, want) {
		t.Error("DefaultDemo differs from Demo(1000, 1)")
	}
	for _, id := range []int{1, 1000} {
		item, _ := inv.Lookup(context.Background(), strconv.Itoa(id))
		if !item.Known {
			t.Errorf("product %d: got unknown, want known", id)
		}
	}
}
