package lookup_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport"
)

// testInventory returns a small inventory: "a" in stock at two locations, "b"
// out of stock, "c" in stock at one location.
func testInventory(t *testing.T) *lookup.Inventory {
	t.Helper()

	inv, err := lookup.NewInventory(
		[]lookup.Product{{ID: "a", Name: "Anvil"}, {ID: "b", Name: "Bolt"}},
		[]lookup.StockRow{
			{ProductID: "a", Name: "Anvil", Location: "North", Quantity: 2},
			{ProductID: "a", Name: "Anvil", Location: "South", Quantity: 5},
			{ProductID: "c", Name: "Chisel", Location: "South", Quantity: 1},
		})
	if err != nil {
		t.Fatalf("NewInventory: %v", err)
	}
	return inv
}

// progressRecorder collects progress reports. It is safe for concurrent use.
type progressRecorder struct {
	mu      sync.Mutex
	reports []transport.Progress
}

func (r *progressRecorder) record(p transport.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports = append(r.reports, p)
}

func (r *progressRecorder) get() []transport.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reports)
}

func TestEngineRunResult(t *testing.T) {
	t.Parallel()

	engine := &lookup.Engine{Source: testInventory(t)}
	got, err := engine.Run(context.Background(), lookup.Request{ProductIDs: []string{"c", "a", "zz", "b", "a"}}, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	anvil := lookup.Item{ProductID: "a", Name: "Anvil", Known: true, Quantity: 7,
		Locations: []lookup.Location{{Location: "North", Quantity: 2}, {Location: "South", Quantity: 5}}}
	want := lookup.Result{Items: []lookup.Item{
		{ProductID: "c", Name: "Chisel", Known: true, Quantity: 1, Locations: []lookup.Location{{Location: "South", Quantity: 1}}},
		anvil,
		{ProductID: "zz", Locations: []lookup.Location{}},
		{ProductID: "b", Name: "Bolt", Known: true, Locations: []lookup.Location{}},
		anvil,
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestEngineRunProgress(t *testing.T) {
	t.Parallel()

	var recorder progressRecorder
	engine := &lookup.Engine{Source: testInventory(t)}
	if _, err := engine.Run(context.Background(), lookup.Request{ProductIDs: []string{"a", "b", "x"}}, recorder.record); err != nil {
		t.Fatalf("Run: %v", err)
	}

	want := []transport.Progress{{Done: 0, Total: 3}, {Done: 1, Total: 3}, {Done: 2, Total: 3}, {Done: 3, Total: 3}}
	if got := recorder.get(); !reflect.DeepEqual(got, want) {
		t.Errorf("got progress %v, want %v", got, want)
	}
}

func TestEngineRunEmptyRequest(t *testing.T) {
	t.Parallel()

	var recorder progressRecorder
	var engine lookup.Engine
	got, err := engine.Run(context.Background(), lookup.Request{}, recorder.record)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	if got.Items == nil || len(got.Items) != 0 {
		t.Errorf("got items %#v, want an empty non-nil slice", got.Items)
	}
	if want := []transport.Progress{{Done: 0, Total: 0}}; !reflect.DeepEqual(recorder.get(), want) {
		t.Errorf("got progress %v, want %v", recorder.get(), want)
	}
	encoded, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if want := `{"items":[]}`; string(encoded) != want {
		t.Errorf("got JSON %s, want %s", encoded, want)
	}
}

func TestEngineRunValidates(t *testing.T) {
	t.Parallel()

	req := lookup.Request{ProductIDs: []string{"1", "bad id"}}
	var recorder progressRecorder
	_, err := (&lookup.Engine{}).Run(context.Background(), req, recorder.record)

	got := requireProblem(t, err)
	want := requireProblem(t, req.Validate())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got problem %+v, want %+v", got, want)
	}
	if reports := recorder.get(); len(reports) != 0 {
		t.Errorf("got progress %v for an invalid request, want none", reports)
	}
}

func TestEngineDefaultSource(t *testing.T) {
	t.Parallel()

	var engine lookup.Engine
	got, err := engine.Run(context.Background(), lookup.Request{ProductIDs: []string{"1", "1000", "1001"}}, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	for i, wantKnown := range []bool{true, true, false} {
		if got.Items[i].Known != wantKnown {
			t.Errorf("item %d (%q): got known %v, want %v", i, got.Items[i].ProductID, got.Items[i].Known, wantKnown)
		}
	}
}

func TestEngineItemDelay(t *testing.T) {
	t.Parallel()

	const delay = 5 * time.Millisecond
	engine := &lookup.Engine{Source: testInventory(t), ItemDelay: delay}
	start := time.Now()
	got, err := engine.Run(context.Background(), lookup.Request{ProductIDs: []string{"a", "b", "c"}}, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	if elapsed := time.Since(start); elapsed < 3*delay {
		t.Errorf("got %v for 3 items, want at least %v", elapsed, 3*delay)
	}
	if len(got.Items) != 3 {
		t.Errorf("got %d items, want 3", len(got.Items))
	}
}

func TestEngineCancelDuringDelay(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		context func() (context.Context, context.CancelFunc)
		want    error
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			ctx, cancel := tt.context()
			defer cancel()
			var recorder progressRecorder
			engine := &lookup.Engine{Source: testInventory(t), ItemDelay: 10 * time.Second}

			start := time.Now()
			_, err := engine.Run(ctx, lookup.Request{ProductIDs: []string{"a", "b"}}, recorder.record)
			elapsed := time.Since(start)

			if !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
			// The context ends after 20 ms, and 100 ms leaves room for a loaded machine.
			if elapsed > 100*time.Millisecond {
				t.Errorf("Run returned after %v, want within 100ms of the start", elapsed)
			}
			if want := []transport.Progress{{Done: 0, Total: 2}}; !reflect.DeepEqual(recorder.get(), want) {
				t.Errorf("got progress %v, want %v", recorder.get(), want)
			}
		})
	}
}

func TestEngineCanceledBeforeStart(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&lookup.Engine{Source: testInventory(t)}).Run(ctx, lookup.Request{ProductIDs: []string{"a"}}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got error %v, want context.Canceled", err)
	}
}

// funcSource adapts a function to lookup.Source.
type funcSource func(ctx context.Context, id string) (lookup.Item, error)

func (f funcSource) Lookup(ctx context.Context, id string) (lookup.Item, error) { return f(ctx, id) }

func TestEngineSourceError(t *testing.T) {
	t.Parallel()

	errDown := errors.New("database is down")
	source := funcSource(func(_ context.Context, id string) (lookup.Item, error) {
		if id == "2" {
			return lookup.Item{}, errDown
		}
		return lookup.Item{ProductID: id, Known: true}, nil
	})

	_, err := (&lookup.Engine{Source: source}).Run(context.Background(), lookup.Request{ProductIDs: []string{"1", "2", "3"}}, nil)
	if !errors.Is(err, errDown) {
		t.Fatalf("got error %v, want one wrapping %v", err, errDown)
	}
	if !strings.Contains(err.Error(), `"2"`) {
		t.Errorf("got error %q, want it to name product \"2\"", err)
	}
}

func TestEngineNormalisesSourceItems(t *testing.T) {
	t.Parallel()

	// A careless source that leaves ProductID empty and Locations nil.
	source := funcSource(func(context.Context, string) (lookup.Item, error) {
		return lookup.Item{Name: "Widget", Known: true}, nil
	})

	got, err := (&lookup.Engine{Source: source}).Run(context.Background(), lookup.Request{ProductIDs: []string{"w1"}}, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	if got.Items[0].ProductID != "w1" {
		t.Errorf("got product ID %q, want %q", got.Items[0].ProductID, "w1")
	}
	if got.Items[0].Locations == nil {
		t.Error("got nil locations, want an empty slice")
	}
}

func TestEngineConcurrentRuns(t *testing.T) {
	t.Parallel()

	engine := &lookup.Engine{Source: testInventory(t)}
	req := lookup.Request{ProductIDs: []string{"a", "b", "c", "x"}}
	want, err := engine.Run(context.Background(), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := engine.Run(context.Background(), req, nil)
			if err != nil {
				t.Errorf("Run: %v", err)
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
	wg.Wait()
}

func TestInventoryLookupReturnsCopy(t *testing.T) {
	t.Parallel()

	inv := testInventory(t)
	first, _ := inv.Lookup(context.Background(), "a")
	first.Locations[0].Quantity = 999

	second, _ := inv.Lookup(context.Background(), "a")
	if got := second.Locations[0].Quantity; got != 2 {
		t.Errorf("got quantity %d after the caller changed its copy, want 2", got)
	}
}

func TestResultJSON(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		result lookup.Result
		want   string
	}{
		{"zero result", lookup.Result{}, `{"items":[]}`},
		{"unknown item with nil locations", lookup.Result{Items: []lookup.Item{{ProductID: "x"}}},
			`{"items":[{"product_id":"x","name":"","known":false,"quantity":0,"locations":[]}]}`},
		{"item in stock", lookup.Result{Items: []lookup.Item{{ProductID: "a", Name: "Anvil", Known: true, Quantity: 2,
			Locations: []lookup.Location{{Location: "North, Dock 1", Quantity: 2}}}}},
			`{"items":[{"product_id":"a","name":"Anvil","known":true,"quantity":2,"locations":[{"location":"North, Dock 1","quantity":2}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := json.Marshal(tt.result)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}

			var back lookup.Result
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			again, _ := json.Marshal(back)
			if string(again) != tt.want {
				t.Errorf("round trip: got %s, want %s", again, tt.want)
			}
		})
	}
}
