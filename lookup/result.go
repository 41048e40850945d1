package lookup

import (
	"encoding/json"
	"slices"
)

// Result is the stock of every requested product.
type Result struct {
	// Items has one entry per requested ID, in request order, duplicates
	// included. It encodes as [] rather than null when empty.
	Items []Item `json:"items"`
}

// Item is the stock of one product.
type Item struct {
	ProductID string `json:"product_id"`

	// Name is the product's name, or "" when the product is unknown.
	Name string `json:"name"`

	// Known is false for an ID that the inventory does not contain. A known
	// product may still be out of stock.
	Known bool `json:"known"`

	// Quantity is the total on hand over all locations.
	Quantity int `json:"quantity"`

	// Locations lists the places that have the product on hand, in the order of
	// the source. It encodes as [] rather than null when the product is out of
	// stock.
	Locations []Location `json:"locations"`
}

// Location is the stock of one product at one place.
type Location struct {
	Location string `json:"location"` // the store or warehouse, such as its street address
	Quantity int    `json:"quantity"` // units on hand there, at least 1
}

// MarshalJSON encodes r with Items as [] when it is nil.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result // plain has no methods, so Marshal does not recurse
	if r.Items == nil {
		r.Items = []Item{}
	}
	return json.Marshal(plain(r))
}

// MarshalJSON encodes the item with Locations as [] when it is nil.
func (it Item) MarshalJSON() ([]byte, error) {
	type plain Item // plain has no methods, so Marshal does not recurse
	if it.Locations == nil {
		it.Locations = []Location{}
	}
	return json.Marshal(plain(it))
}

// Split divides req into requests of at most batchSize IDs each, in order, for
// running them in parallel. A batchSize of 0 or less means one batch. Split
// always returns at least one request: a request without IDs yields one
// request without IDs. The batches do not share memory with req.
func Split(req Request, batchSize int) []Request {
	ids := req.ProductIDs
	if batchSize <= 0 || len(ids) <= batchSize {
		return []Request{{ProductIDs: slices.Clone(ids)}}
	}

	batches := make([]Request, 0, (len(ids)+batchSize-1)/batchSize)
	for chunk := range slices.Chunk(ids, batchSize) {
		batches = append(batches, Request{ProductIDs: slices.Clone(chunk)})
	}
	return batches
}

// Merge concatenates the items of results in order, so that merging the
// results of Split's batches gives the result of the whole request. Its Items
// are never nil.
func Merge(results []Result) Result {
	n := 0
	for _, r := range results {
		n += len(r.Items)
	}

	items := make([]Item, 0, n)
	for _, r := range results {
		items = append(items, r.Items...)
	}
	return Result{Items: items}
}
