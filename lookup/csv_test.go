package lookup_test

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/longhaul-go/longhaul/lookup"
)

const (
	stockCSV = "product_id,name,location,quantity\r\n" +
		`1,"Anvil, Heavy","Dock 4, Leeds, UK",4` + "\r\n" +
		`1,"Anvil, Heavy","Shop 2, York, UK",3` + "\r\n" +
		`2,Bolt,"Dock 4, Leeds, UK",0` + "\r\n" +
		`3,"Chisel ""Pro""",Yard,1` + "\r\n"
	productsCSV = "product_id,name\n" +
		"1,\"Anvil, Heavy\"\n" +
		"2,Bolt\n" +
		"3,\"Chisel \"\"Pro\"\"\"\n" +
		"4,Drill\n"
)

// lookupAll returns the items of ids in inv, failing the test on an error.
func lookupAll(t *testing.T, inv *lookup.Inventory, ids ...string) []lookup.Item {
	t.Helper()

	items := make([]lookup.Item, 0, len(ids))
	for _, id := range ids {
		item, err := inv.Lookup(context.Background(), id)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", id, err)
		}
		items = append(items, item)
	}
	return items
}

func TestReadCSVWithProducts(t *testing.T) {
	t.Parallel()

	inv, err := lookup.ReadCSV(strings.NewReader(stockCSV), strings.NewReader(productsCSV))
	if err != nil {
		t.Fatalf("ReadCSV: %v", err)
	}

	if got, want := inv.Len(), 4; got != want {
		t.Errorf("got Len %d, want %d", got, want)
	}
	got := lookupAll(t, inv, "1", "2", "3", "4", "5")
	want := []lookup.Item{
		{ProductID: "1", Name: "Anvil, Heavy", Known: true, Quantity: 7, Locations: []lookup.Location{
			{Location: "Dock 4, Leeds, UK", Quantity: 4}, {Location: "Shop 2, York, UK", Quantity: 3}}},
		{ProductID: "2", Name: "Bolt", Known: true, Locations: []lookup.Location{}},
		{ProductID: "3", Name: `Chisel "Pro"`, Known: true, Quantity: 1, Locations: []lookup.Location{{Location: "Yard", Quantity: 1}}},
		{ProductID: "4", Name: "Drill", Known: true, Locations: []lookup.Location{}},
		{ProductID: "5", Locations: []lookup.Location{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestReadCSVWithoutProducts(t *testing.T) {
	t.Parallel()

	inv, err := lookup.ReadCSV(strings.NewReader(stockCSV), nil)
	if err != nil {
		t.Fatalf("ReadCSV: %v", err)
	}

	if got, want := inv.Len(), 3; got != want {
		t.Errorf("got Len %d, want %d", got, want)
	}
	items := lookupAll(t, inv, "2", "4")
	if !items[0].Known {
		t.Error("product 2 with a zero stock row: got unknown, want known")
	}
	if items[1].Known {
		t.Error("product 4 without stock rows or products file: got known, want unknown")
	}
}

func TestReadCSVAcceptsByteOrderMark(t *testing.T) {
	t.Parallel()

	inv, err := lookup.ReadCSV(strings.NewReader("\ufeff"+stockCSV), strings.NewReader("\ufeff"+productsCSV))
	if err != nil {
		t.Fatalf("ReadCSV: %v", err)
	}
	if got, want := inv.Len(), 4; got != want {
		t.Errorf("got Len %d, want %d", got, want)
	}
}

func TestReadCSVHeaderOnly(t *testing.T) {
	t.Parallel()

	inv, err := lookup.ReadCSV(strings.NewReader("product_id,name,location,quantity\n"), strings.NewReader("product_id,name\n"))
	if err != nil {
		t.Fatalf("ReadCSV: %v", err)
	}
	if inv.Len() != 0 {
		t.Errorf("got Len %d, want 0", inv.Len())
	}
}

func TestReadCSVErrors(t *testing.T) {
	t.Parallel()

	const header = "product_id,name,location,quantity\n"
	tests := []struct {
		name     string
		stock    string
		products string // "" means no products file
		file     string
		line     int
		column   int
		want     []string // fragments of the message
	}{
		{"empty stock file", "", "", "stock", 1, 1,
			[]string{"empty", "header product_id,name,location,quantity"}},
		{"missing header", "1,Anvil,Dock,4\n", "", "stock", 1, 1,
			[]string{`header field 1 is "1", want "product_id"`}},
		{"wrong header field", "product_id,name,place,quantity\n", "", "stock", 1, 17,
			[]string{`header field 3 is "place", want "location"`}},
		{"short header", "product_id,name\n", "", "stock", 1, 12,
			[]string{"header has 2 fields, want 4"}},
		{"long header", "product_id,name,location,quantity,notes\n", "", "stock", 1, 35,
			[]string{"header has 5 fields, want 4"}},
		{"wrong products header", header, "id,name\n", "products", 1, 1,
			[]string{`header field 1 is "id", want "product_id"`, "product_id,name"}},
		{"too many fields", header + "1,Anvil,Dock 4, Leeds,4\n", "", "stock", 2, 23,
			[]string{"row has 5 fields, want 4", "double quotes"}},
		{"too few fields", header + "1,Anvil,4\n", "", "stock", 2, 1,
			[]string{"row has 3 fields, want 4", "missing"}},
		{"too few product fields", header, "product_id,name\n1\n", "products", 2, 1,
			[]string{"row has 1 fields, want 2"}},
		{"quantity not an integer", header + "1,Anvil,Dock,four\n", "", "stock", 2, 14,
			[]string{`quantity "four" is not an integer`, "0 or more"}},
		{"quantity empty", header + "1,Anvil,Dock,\n", "", "stock", 2, 14,
			[]string{`quantity "" is not an integer`}},
		{"quantity decimal", header + "1,Anvil,Dock,2.5\n", "", "stock", 2, 14,
			[]string{`quantity "2.5"`}},
		{"quantity negative", header + "1,Anvil,Dock,-1\n", "", "stock", 2, 14,
			[]string{"quantity -1", "negative"}},
		{"quantity too large", header + "1,Anvil,Dock,99999999999999999999\n", "", "stock", 2, 14,
			[]string{"too large"}},
		{"empty product ID", header + ",Anvil,Dock,1\n", "", "stock", 2, 1,
			[]string{`product_id ""`, "empty"}},
		{"product ID with space", header + "1 2,Anvil,Dock,1\n", "", "stock", 2, 1,
			[]string{`product_id "1 2"`, "U+0020"}},
		{"product ID too long", header + strings.Repeat("9", 65) + ",Anvil,Dock,1\n", "", "stock", 2, 1,
			[]string{"65 bytes", "limit of 64 bytes"}},
		{"product ID invalid in products file", header, "product_id,name\n1,A\n\"a\tb\",B\n", "products", 3, 1,
			[]string{"U+0009"}},
		{"empty location", header + "1,Anvil,,1\n", "", "stock", 2, 9,
			[]string{"location", "empty"}},
		{"same product and location twice", header + "1,Anvil,Dock,1\n1,Anvil,Yard,1\n1,Anvil,Dock,2\n", "", "stock", 4, 9,
			[]string{`"1" at location "Dock" is listed twice, first at stock:2`, "merge"}},
		{"product twice in products file", header, "product_id,name\n1,A\n2,B\n1,A\n", "products", 4, 1,
			[]string{`"1" is listed twice, first at products:2`}},
		{"names conflict between rows", header + "1,Anvil,Dock,1\n1,Anvill,Yard,1\n", "", "stock", 3, 3,
			[]string{`named "Anvill" here but "Anvil" at stock:2`}},
		{"names conflict between files", header + "1,Anvill,Dock,1\n", "product_id,name\n1,Anvil\n", "stock", 2, 3,
			[]string{`named "Anvill" here but "Anvil" at products:2`}},
		{"bare quote", header + "1,An\"vil,Dock,1\n", "", "stock", 2, 5,
			[]string{"bare \"", "double quotes"}},
		{"unterminated quote", header + "1,\"Anvil,Dock,1\n", "", "stock", 2, 17,
			[]string{"double quotes"}},
		{"error after a multi-line field", header + "1,\"Anvil\nHeavy\",Dock,x\n", "", "stock", 3, 13,
			[]string{`quantity "x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			var products io.Reader // nil unless the case has a products file
			if tt.products != "" {
				products = strings.NewReader(tt.products)
			}
			_, err := lookup.ReadCSV(strings.NewReader(tt.stock), products)

			var parseErr *lookup.ParseError
			if !errors.As(err, &parseErr) {
				t.Fatalf("got error %v (%T), want *lookup.ParseError", err, err)
			}
			if parseErr.File != tt.file || parseErr.Line != tt.line || parseErr.Column != tt.column {
				t.Errorf("got position %s:%d:%d, want %s:%d:%d (error %q)",
					parseErr.File, parseErr.Line, parseErr.Column, tt.file, tt.line, tt.column, err)
			}
			for _, fragment := range tt.want {
				if !strings.Contains(err.Error(), fragment) {
					t.Errorf("got error %q, want it to contain %q", err, fragment)
				}
			}
		})
	}
}

func TestReadCSVSyntaxErrorUnwraps(t *testing.T) {
	t.Parallel()

	_, err := lookup.ReadCSV(strings.NewReader("product_id,name,location,quantity\n1,An\"vil,Dock,1\n"), nil)
	if !errors.Is(err, csv.ErrBareQuote) {
		t.Errorf("got error %v, want one wrapping csv.ErrBareQuote", err)
	}
}

func TestReadCSVReaderError(t *testing.T) {
	t.Parallel()

	errBroken := errors.New("disk on fire")
	_, err := lookup.ReadCSV(strings.NewReader(stockCSV), iotest.ErrReader(errBroken))
	if !errors.Is(err, errBroken) {
		t.Fatalf("got error %v, want one wrapping %v", err, errBroken)
	}
	if !strings.Contains(err.Error(), "products") {
		t.Errorf("got error %q, want it to name the products file", err)
	}
}

func TestLoadCSV(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	stockPath := filepath.Join(dir, "stock.csv")
	productsPath := filepath.Join(dir, "products.csv")
	writeFile(t, stockPath, stockCSV)
	writeFile(t, productsPath, productsCSV)

	withProducts, err := lookup.LoadCSV(stockPath, productsPath)
	if err != nil {
		t.Fatalf("LoadCSV: %v", err)
	}
	if got, want := withProducts.Len(), 4; got != want {
		t.Errorf("with products file: got Len %d, want %d", got, want)
	}

	stockOnly, err := lookup.LoadCSV(stockPath, "")
	if err != nil {
		t.Fatalf("LoadCSV without products: %v", err)
	}
	if got, want := stockOnly.Len(), 3; got != want {
		t.Errorf("without products file: got Len %d, want %d", got, want)
	}
}

func TestLoadCSVErrorNamesPath(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	stockPath := filepath.Join(dir, "stock.csv")
	writeFile(t, stockPath, "product_id,name,location,quantity\n1,Anvil,Dock,lots\n")

	_, err := lookup.LoadCSV(stockPath, "")
	var parseErr *lookup.ParseError
	if !errors.As(err, &parseErr) {
		t.Fatalf("got error %v (%T), want *lookup.ParseError", err, err)
	}
	if want := stockPath + ":2:14:"; !strings.Contains(err.Error(), want) {
		t.Errorf("got error %q, want it to contain %q", err, want)
	}
}

func TestLoadCSVMissingFile(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	stockPath := filepath.Join(dir, "stock.csv")
	writeFile(t, stockPath, stockCSV)

	tests := []struct {
		name, stock, products string
	}{
		{"stock file", filepath.Join(dir, "missing.csv"), ""},
		{"products file", stockPath, filepath.Join(dir, "missing.csv")},
	}
	for _, tt := range tests {
		_, err := lookup.LoadCSV(tt.stock, tt.products)
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: got error %v, want os.ErrNotExist", tt.name, err)
		}
		if err != nil && !strings.Contains(err.Error(), "missing.csv") {
			t.Errorf("%s: got error %q, want it to name the path", tt.name, err)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
