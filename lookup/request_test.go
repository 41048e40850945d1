package lookup_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport"
)

// ids returns the IDs "1" to n.
func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i + 1)
	}
	return out
}

// requireProblem fails the test unless err is an invalid-request problem, and
// returns it.
func requireProblem(t *testing.T, err error) *transport.Problem {
	t.Helper()

	var problem *transport.Problem
	if !errors.As(err, &problem) {
		t.Fatalf("got error %v (%T), want *transport.Problem", err, err)
	}
	if problem.Status != http.StatusBadRequest {
		t.Errorf("got status %d, want %d", problem.Status, http.StatusBadRequest)
	}
	if problem.Code != transport.CodeInvalidRequest {
		t.Errorf("got code %q, want %q", problem.Code, transport.CodeInvalidRequest)
	}
	return problem
}

func TestValidateAccepts(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		ids  []string
	}{
		{"nil list", nil},
		{"empty list", []string{}},
		{"one ID", []string{"1"}},
		{"duplicates", []string{"7", "7"}},
		{"maximum count", ids(lookup.MaxProductIDs)},
		{"maximum length", []string{strings.Repeat("x", lookup.MaxIDLength)}},
		{"punctuation", []string{"SKU-42/b_7.x#1"}},
		{"non-ASCII letters", []string{"café-Ω-商品"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := (lookup.Request{ProductIDs: tt.ids}).Validate(); err != nil {
				t.Errorf("got error %v, want nil", err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()

	long := strings.Repeat("a", 200)
	tests := []struct {
		name string
		ids  []string
		want []string // fragments the detail must contain
	}{
		{"too many IDs", ids(lookup.MaxProductIDs + 1),
			[]string{"1001 entries", "limit of 1000", "split"}},
		{"empty ID", []string{"1", "2", ""},
			[]string{`product_ids[2] ""`, "empty", "1 to 64 bytes"}},
		{"ID one byte too long", []string{strings.Repeat("x", lookup.MaxIDLength+1)},
			[]string{"product_ids[0]", "65 bytes", "limit of 64 bytes"}},
		{"long ID is truncated", []string{"1", long},
			[]string{"product_ids[1]", `"` + long[:40] + `"...`, "200 bytes"}},
		{"invalid UTF-8", []string{"ab\xffcd"},
			[]string{`product_ids[0] "ab\xffcd"`, "not valid UTF-8"}},
		{"space", []string{"1", "a b"},
			[]string{`product_ids[1] "a b"`, "U+0020", "byte 1", "remove it"}},
		{"leading tab", []string{"\t1"},
			[]string{`"\t1"`, "U+0009", "byte 0"}},
		{"newline", []string{"1\n"},
			[]string{`"1\n"`, "U+000A"}},
		{"NUL byte", []string{"1\x00"},
			[]string{`"1\x00"`, "U+0000"}},
		{"no-break space", []string{"1\u00a02"},
			[]string{"U+00A0"}},
		{"zero-width space", []string{"1\u200b2"},
			[]string{"U+200B"}},
		{"first bad ID wins", []string{"ok", "", "a b"},
			[]string{"product_ids[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			problem := requireProblem(t, lookup.Request{ProductIDs: tt.ids}.Validate())
			for _, fragment := range tt.want {
				if !strings.Contains(problem.Detail, fragment) {
					t.Errorf("got detail %q, want it to contain %q", problem.Detail, fragment)
				}
			}
		})
	}
}

func TestValidateTruncatesOnRuneBoundary(t *testing.T) {
	t.Parallel()

	// 39 ASCII bytes, then 3-byte runes: the cut at byte 40 falls inside the first
	// "€", so the quote must stop before it.
	id := strings.Repeat("a", 39) + strings.Repeat("€", 10)
	problem := requireProblem(t, lookup.Request{ProductIDs: []string{id}}.Validate())

	if want := `"` + strings.Repeat("a", 39) + `"...`; !strings.Contains(problem.Detail, want) {
		t.Errorf("got detail %q, want it to contain %q", problem.Detail, want)
	}
	if strings.Contains(problem.Detail, `\x`) {
		t.Errorf("got detail %q, want no split rune", problem.Detail)
	}
}
