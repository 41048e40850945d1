package lookup

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// Source is an inventory that the Engine reads.
//
// Lookup returns the stock of one product. For an ID that the source does not
// contain, it returns an Item with Known false and a nil error. An error means
// that the source itself failed, and it fails the job. Lookup must be safe for
// concurrent use and must return promptly once ctx ends.
type Source interface {
	Lookup(ctx context.Context, productID string) (Item, error)
}

// Product is a catalogue entry: a product that exists whether or not it is in stock.
type Product struct {
	ID   string
	Name string
}

// StockRow is the stock of one product at one location.
type StockRow struct {
	ProductID string
	Name      string
	Location  string
	Quantity  int // units on hand, 0 or more, where a row with 0 adds no location
}

// Inventory is an in-memory Source. It is immutable after construction and
// safe for concurrent use. Build one with NewInventory, LoadCSV, ReadCSV or Demo.
type Inventory struct {
	items map[string]Item // Locations is never nil and never handed out
}

var _ Source = (*Inventory)(nil)

// NewInventory builds an inventory from a catalogue and stock rows, with the
// same rules as ReadCSV. Every product in products is known, and it is out of
// stock unless stock has rows for it. A product with stock rows is known even
// when products does not list it. Both slices may be nil. The error names the
// first invalid entry by its index, such as stock[3].
func NewInventory(products []Product, stock []StockRow) (*Inventory, error) {
	b := newBuilder()

	for i, p := range products {
		where := fmt.Sprintf("products[%d]", i)
		if err := b.addProduct(p, where); err != nil {
			return nil, fmt.Errorf("lookup: %s: %s", where, err.msg)
		}
	}
	for i, row := range stock {
		where := fmt.Sprintf("stock[%d]", i)
		if err := b.addStock(row, where); err != nil {
			return nil, fmt.Errorf("lookup: %s: %s", where, err.msg)
		}
	}

	return b.build(), nil
}

// Lookup returns the stock of productID. It never fails: an unknown ID yields
// an Item with Known false. The returned Locations belong to the caller.
func (inv *Inventory) Lookup(_ context.Context, productID string) (Item, error) {
	item, ok := inv.items[productID]
	if !ok {
		return Item{ProductID: productID, Locations: []Location{}}, nil
	}

	item.Locations = slices.Clone(item.Locations)
	return item, nil
}

// Len returns the number of known products, in stock or not.
func (inv *Inventory) Len() int { return len(inv.items) }

// rowError is an invalid catalogue or stock entry: the field at fault, named
// as in the CSV header, and a message with the fix.
type rowError struct {
	field string
	msg   string
}

// builder collects products and stock rows and rejects contradictions.
type builder struct {
	items map[string]*entry

	// seen maps each (product, location) pair to the entry that listed it.
	seen map[[2]string]string
}

type entry struct {
	item      Item
	nameWhere string // the entry that gave the product its name
}

func newBuilder() *builder {
	return &builder{items: make(map[string]*entry), seen: make(map[[2]string]string)}
}

func (b *builder) addProduct(p Product, where string) *rowError {
	if reason := checkID(p.ID); reason != "" {
		return &rowError{"product_id", "product_id " + reason}
	}
	if first, ok := b.items[p.ID]; ok {
		return &rowError{"product_id", fmt.Sprintf(
			"product %q is listed twice, first at %s: remove one of the entries", p.ID, first.nameWhere)}
	}

	b.items[p.ID] = &entry{item: Item{ProductID: p.ID, Name: p.Name, Known: true}, nameWhere: where}
	return nil
}

func (b *builder) addStock(row StockRow, where string) *rowError {
	if reason := checkID(row.ProductID); reason != "" {
		return &rowError{"product_id", "product_id " + reason}
	}
	if row.Location == "" {
		return &rowError{"location", fmt.Sprintf(
			"location of product %q is empty: fill in the store or warehouse that has the stock", row.ProductID)}
	}
	if row.Quantity < 0 {
		return &rowError{"quantity", fmt.Sprintf(
			"quantity %d of product %q is negative: give the units on hand, 0 or more", row.Quantity, row.ProductID)}
	}

	key := [2]string{row.ProductID, row.Location}
	if first, ok := b.seen[key]; ok {
		return &rowError{"location", fmt.Sprintf(
			"product %q at location %q is listed twice, first at %s: merge the entries into one with the total quantity",
			row.ProductID, row.Location, first)}
	}

	e, ok := b.items[row.ProductID]
	if !ok {
		e = &entry{item: Item{ProductID: row.ProductID, Name: row.Name, Known: true}, nameWhere: where}
		b.items[row.ProductID] = e
	}
	if e.item.Name != row.Name {
		return &rowError{"name", fmt.Sprintf(
			"product %q is named %q here but %q at %s: use one name for the product everywhere",
			row.ProductID, row.Name, e.item.Name, e.nameWhere)}
	}
	if row.Quantity > math.MaxInt-e.item.Quantity {
		return &rowError{"quantity", fmt.Sprintf(
			"quantity %d of product %q makes its total overflow: check the quantities", row.Quantity, row.ProductID)}
	}

	b.seen[key] = where
	if row.Quantity > 0 {
		e.item.Quantity += row.Quantity
		e.item.Locations = append(e.item.Locations, Location{Location: row.Location, Quantity: row.Quantity})
	}
	return nil
}

func (b *builder) build() *Inventory {
	items := make(map[string]Item, len(b.items))
	for id, e := range b.items {
		item := e.item
		if item.Locations == nil {
			item.Locations = []Location{}
		}
		items[id] = item
	}
	return &Inventory{items: items}
}
