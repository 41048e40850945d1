package lookup_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport"
)

func FuzzReadCSV(f *testing.F) {
	f.Add(stockCSV, productsCSV, true)
	f.Add(stockCSV, "", false)
	f.Add("product_id,name,location,quantity\n1,\"a\nb\",x,1\n1,\"a\nb\",y,0\n", "product_id,name\n1,\"a\nb\"\n", true)
	f.Add("\ufeffproduct_id,name,location,quantity\n1,A,\"x\"\"y\",9223372036854775807\n1,A,z,1\n", "", false)
	f.Add("product_id,name,location,quantity\n1,A,\"x,1\n", "product_id,name\n\"", true)

	f.Fuzz(func(t *testing.T, stock, products string, withProducts bool) {
		var productsReader io.Reader
		if withProducts {
			productsReader = strings.NewReader(products)
		}

		inv, err := lookup.ReadCSV(strings.NewReader(stock), productsReader)
		if err != nil {
			var parseErr *lookup.ParseError
			if !errors.As(err, &parseErr) {
				t.Fatalf("got error %v (%T), want *lookup.ParseError", err, err)
			}
			if parseErr.Line < 1 || parseErr.Column < 1 {
				t.Errorf("got position %d:%d, want both 1 or more", parseErr.Line, parseErr.Column)
			}
			return
		}

		// Spot-check the products whose IDs start a line: each known one must
		// have a valid ID and a quantity equal to the sum over its locations.
		for line := range strings.Lines(stock) {
			id, _, _ := strings.Cut(line, ",")
			item, _ := inv.Lookup(context.Background(), id)
			if !item.Known {
				continue
			}
			checkID(t, id)
			sum := 0
			for _, loc := range item.Locations {
				if loc.Quantity < 1 {
					t.Errorf("product %q at %q: got quantity %d, want 1 or more", id, loc.Location, loc.Quantity)
				}
				sum += loc.Quantity
			}
			if sum != item.Quantity {
				t.Errorf("product %q: got quantity %d, want the sum over locations %d", id, item.Quantity, sum)
			}
		}
	})
}

func FuzzValidate(f *testing.F) {
	f.Add("1", "2")
	f.Add("", "1")
	f.Add("a b", "\x00")
	f.Add("café", "\xff\xfe")
	f.Add(strings.Repeat("x", 64), strings.Repeat("é", 33))
	f.Add("\u200b", "\u00a0")

	f.Fuzz(func(t *testing.T, first, second string) {
		err := lookup.Request{ProductIDs: []string{first, second}}.Validate()
		if err == nil {
			checkID(t, first)
			checkID(t, second)
			return
		}

		var problem *transport.Problem
		if !errors.As(err, &problem) || problem.Code != transport.CodeInvalidRequest {
			t.Fatalf("got error %v (%T), want an invalid-request *transport.Problem", err, err)
		}
		if validID(first) && validID(second) {
			t.Errorf("rejected valid IDs %q and %q: %v", first, second, err)
		}
	})
}

// validID reports whether id obeys the ID rules, independently of the package.
func validID(id string) bool {
	if len(id) == 0 || len(id) > lookup.MaxIDLength || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func checkID(t *testing.T, id string) {
	t.Helper()
	if !validID(id) {
		t.Errorf("accepted product ID %q, which breaks the ID rules", id)
	}
}
