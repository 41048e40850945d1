package lookup_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/longhaul-go/longhaul/lookup"
)

func TestSplit(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		ids       []string
		batchSize int
		want      [][]string
	}{
		{"no IDs", nil, 3, [][]string{nil}},
		{"zero batch size", []string{"1", "2", "3"}, 0, [][]string{{"1", "2", "3"}}},
		{"negative batch size", []string{"1", "2"}, -1, [][]string{{"1", "2"}}},
		{"fewer IDs than batch size", []string{"1", "2"}, 5, [][]string{{"1", "2"}}},
		{"exact multiple", []string{"1", "2", "3", "4"}, 2, [][]string{{"1", "2"}, {"3", "4"}}},
		{"remainder", []string{"1", "2", "3", "4", "5"}, 2, [][]string{{"1", "2"}, {"3", "4"}, {"5"}}},
		{"batch size one", []string{"1", "1", "2"}, 1, [][]string{{"1"}, {"1"}, {"2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			batches := lookup.Split(lookup.Request{ProductIDs: tt.ids}, tt.batchSize)
			got := make([][]string, len(batches))
			for i, b := range batches {
				got[i] = b.ProductIDs
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSplitCopies(t *testing.T) {
	t.Parallel()

	req := lookup.Request{ProductIDs: []string{"1", "2", "3"}}
	batches := lookup.Split(req, 2)
	batches[0].ProductIDs[0] = "changed"
	batches[0].ProductIDs = append(batches[0].ProductIDs, "appended")

	if want := []string{"1", "2", "3"}; !reflect.DeepEqual(req.ProductIDs, want) {
		t.Errorf("got request %q after changing a batch, want %q", req.ProductIDs, want)
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()

	a := lookup.Item{ProductID: "a"}
	b := lookup.Item{ProductID: "b"}
	c := lookup.Item{ProductID: "c"}
	tests := []struct {
		name    string
		results []lookup.Result
		want    []lookup.Item
	}{
		{"no results", nil, []lookup.Item{}},
		{"empty results", []lookup.Result{{}, {Items: []lookup.Item{}}}, []lookup.Item{}},
		{"one result", []lookup.Result{{Items: []lookup.Item{a, b}}}, []lookup.Item{a, b}},
		{"keeps order", []lookup.Result{{Items: []lookup.Item{c}}, {}, {Items: []lookup.Item{a, b, a}}}, []lookup.Item{c, a, b, a}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got := lookup.Merge(tt.results)
			if !reflect.DeepEqual(got.Items, tt.want) {
				t.Errorf("got %+v, want %+v", got.Items, tt.want)
			}
		})
	}
}

func TestMergeOfSplitEqualsWhole(t *testing.T) {
	t.Parallel()

	engine := &lookup.Engine{Source: lookup.Demo(50, 3)}
	// IDs 51 to 60 and "x" are unknown, and "7" appears twice.
	req := lookup.Request{ProductIDs: append(ids(60), "7", "x")}
	whole, err := engine.Run(context.Background(), req, nil)
	if err != nil {
		t.Fatalf("Run whole: %v", err)
	}

	for _, batchSize := range []int{0, 1, 7, 61, 62, 100} {
		var results []lookup.Result
		for _, batch := range lookup.Split(req, batchSize) {
			res, err := engine.Run(context.Background(), batch, nil)
			if err != nil {
				t.Fatalf("batch size %d: Run: %v", batchSize, err)
			}
			results = append(results, res)
		}

		if got := lookup.Merge(results); !reflect.DeepEqual(got, whole) {
			t.Errorf("batch size %d: merged result differs from the whole result", batchSize)
		}
	}
}
