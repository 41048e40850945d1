// Package lookup is the stock lookup engine that ships with longhaul: a list of
// product IDs in, the stock count and locations of each product out. It is the
// reference transport.Engine and the running example of every strategy.
//
// # Model
//
// A Request lists product IDs. The Result has one Item per requested ID, in
// request order, duplicates included. An Item reports whether the product is
// Known and gives its Name, its total Quantity and the Locations that stock
// it. A known product may be out of stock, with Quantity 0 and no Locations.
// An unknown ID is not an error but an Item with Known false, so one mistyped
// ID does not fail a job of a thousand. Empty Items and Locations encode as
// [] in JSON, never as null.
//
// An Engine reads a Source. Inventory is the Source that ships with the
// package: it lives in memory, never changes after construction and is safe
// for concurrent use. Build one from
//
//   - CSV files with LoadCSV, or from readers with ReadCSV: a stock file
//     (product_id,name,location,quantity, one row per product and location)
//     and an optional products file (product_id,name). Without the products
//     file an out-of-stock product cannot be distinguished from an unknown
//     ID. ReadCSV documents the rules and the errors.
//   - slices with NewInventory, under the same rules.
//   - Demo, a generated catalogue that depends only on its size and seed, and
//     DefaultDemo, the one with IDs "1" to "1000" that an Engine with a nil
//     Source reads.
//
// Any other inventory, such as a database, plugs in by implementing Source.
//
// # Limits
//
// A request contains at most MaxProductIDs IDs. Each ID is 1 to MaxIDLength bytes
// of valid UTF-8, with only printable characters and no whitespace. Servers
// call Request.Validate before they create a job, and Engine.Run checks again,
// so an engine never trusts its caller. A violation is a *transport.Problem
// with status 400 and code invalid-request that names the value, its index and
// the fix. CSV sources obey the same ID rules.
//
// Split divides a longer list into batches for fan-out, and Merge joins their
// results in order.
//
// # Example
//
//	inv, err := lookup.LoadCSV("stock.csv", "products.csv")
//	if err != nil {
//		return err
//	}
//	engine := &lookup.Engine{Source: inv}
//	res, err := engine.Run(ctx, lookup.Request{ProductIDs: []string{"1", "2"}},
//		func(p transport.Progress) { fmt.Printf("%d/%d\n", p.Done, p.Total) })
//
// # Simulated latency
//
// Real lookups of this kind take from seconds to minutes. Engine.ItemDelay
// makes the engine wait that long per item, so that demos, tests and
// benchmarks can show what each strategy does with a long job. The wait ends
// at once when the job's context ends.
//
// # Caveats
//
//   - An Inventory is a snapshot. To pick up a changed CSV file, load it again
//     and run later jobs on a new Engine with the new inventory, because an
//     Engine's fields must not change while it runs.
//   - Run looks items up one after another. A Source that is slow per item
//     gains from Split, fan-out and several jobs, not from Run itself.
//   - A product ID that the stock file lists but the products file does not is
//     still known, and ReadCSV does not treat it as an error.
//   - Demo names repeat in large catalogues, because they come from short word
//     lists.
package lookup
