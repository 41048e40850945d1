package lookup

import (
	"math/rand/v2"
	"strconv"
	"sync"
)

// Word lists and locations of the demo catalogue. Changing them changes every
// demo inventory, so tests that pin demo contents must change with them.
var (
	demoAdjectives = []string{
		"Compact", "Heavy-Duty", "Cordless", "Stainless", "Folding", "Adjustable",
		"Waterproof", "Ergonomic", "Industrial", "Portable", "Insulated", "Reinforced",
	}
	demoMaterials = []string{
		"Steel", "Oak", "Aluminium", "Bamboo", "Ceramic", "Nylon", "Copper", "Rubber",
	}
	demoNouns = []string{
		"Drill", "Shelf", "Ladder", "Toolbox", "Workbench", "Lantern", "Bucket",
		"Hammer", "Clamp", "Kettle", "Hose Reel", "Cable Drum", "Sawhorse", "Dolly",
	}
	demoLocations = []string{
		"Warehouse A, Rotterdam", "Warehouse B, Leipzig", "Distribution Centre, Lyon",
		"North Depot, Leeds", "Cross-Dock, Milan",
	}
)

// demoOutOfStock is the share of demo products with no stock anywhere.
const demoOutOfStock = 0.08

// Demo generates a catalogue of size products with IDs "1" to size, for demos,
// benchmarks and tests. Names combine an adjective, a material and a noun, such
// as "Cordless Steel Drill", and may repeat. About 8% of the products are out of
// stock (known, quantity 0). Each of the others is stocked at 1 to 3 of 5
// warehouse locations, with 1 to 250 units at each. The result depends only on
// size and seed. A size of 0 or less gives an empty inventory. Memory grows
// linearly with size.
func Demo(size int, seed int64) *Inventory {
	// The second PCG word is fixed so that seed alone selects the sequence.
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6c6f6e676861756c))
	items := make(map[string]Item, max(size, 0))

	for n := 1; n <= size; n++ {
		id := strconv.Itoa(n)
		item := Item{
			ProductID: id,
			Name: demoAdjectives[rng.IntN(len(demoAdjectives))] + " " +
				demoMaterials[rng.IntN(len(demoMaterials))] + " " +
				demoNouns[rng.IntN(len(demoNouns))],
			Known:     true,
			Locations: []Location{},
		}

		if rng.Float64() >= demoOutOfStock {
			// A random permutation's prefix picks distinct locations in random order.
			order := rng.Perm(len(demoLocations))
			for _, index := range order[:1+rng.IntN(3)] {
				quantity := 1 + rng.IntN(250)
				item.Quantity += quantity
				item.Locations = append(item.Locations, Location{Location: demoLocations[index], Quantity: quantity})
			}
		}

		items[id] = item
	}

	return &Inventory{items: items}
}

// DefaultDemo returns Demo(1000, 1), generated on first use and shared: IDs "1"
// to "1000". It is the Source of an Engine whose Source is nil.
func DefaultDemo() *Inventory { return defaultDemo() }

var defaultDemo = sync.OnceValue(func() *Inventory { return Demo(1000, 1) })
