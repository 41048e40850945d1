package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"unicode"

	"github.com/longhaul-go/longhaul/lookup"
)

// writeJSON writes res as indented JSON, the encoding of lookup.Result.
func writeJSON(w io.Writer, res lookup.Result) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("failed to encode the result: %w", err)
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// writeTable writes one row per item of res: its ID, name, status (in stock,
// out of stock or unknown), quantity and locations as "address (quantity)".
func writeTable(w io.Writer, res lookup.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tQUANTITY\tLOCATIONS")
	for _, item := range res.Items {
		fmt.Fprintln(tw, strings.Join(tableRow(item), "\t"))
	}
	return tw.Flush()
}

// tableRow returns the cells of one item. A dash stands for a value that
// does not apply.
func tableRow(item lookup.Item) []string {
	id := sanitize(item.ProductID)
	if !item.Known {
		return []string{id, "-", "unknown", "-", "-"}
	}

	name := sanitize(item.Name)
	if name == "" {
		name = "-"
	}
	if item.Quantity == 0 || len(item.Locations) == 0 {
		return []string{id, name, "out of stock", strconv.Itoa(item.Quantity), "-"}
	}

	locations := make([]string, 0, len(item.Locations))
	for _, loc := range item.Locations {
		locations = append(locations, fmt.Sprintf("%s (%d)", sanitize(loc.Location), loc.Quantity))
	}
	return []string{id, name, "in stock", strconv.Itoa(item.Quantity), strings.Join(locations, "; ")}
}

// sanitize replaces every rune that unicode.IsPrint rejects, such as tabs,
// newlines and escape characters, with '?'. Text from the server then can
// neither break the table nor send escape sequences to the terminal.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
}

// jobIDRecorder keeps the job ID of a call, which transport.WithOnAccepted
// reports from another goroutine.
type jobIDRecorder struct {
	mu sync.Mutex
	id string
}

func (r *jobIDRecorder) set(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.id = id
}

func (r *jobIDRecorder) get() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.id
}
