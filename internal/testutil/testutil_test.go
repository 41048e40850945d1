package testutil_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/longhaul-go/longhaul/internal/testutil"
)

// recordingTB records Skip and Fatal calls instead of stopping the test, so that
// the test can check which one SakilaDir chose.
type recordingTB struct {
	testing.TB
	skipped, failed bool
	message         string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Skip(args ...any) { r.skipped, r.message = true, fmt.Sprint(args...) }

func (r *recordingTB) Skipf(format string, args ...any) {
	r.skipped, r.message = true, fmt.Sprintf(format, args...)
}

func (r *recordingTB) Fatal(args ...any) { r.failed, r.message = true, fmt.Sprint(args...) }

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed, r.message = true, fmt.Sprintf(format, args...)
}

func writeSakila(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"stock.csv":    "product_id,name,location,quantity\n1,Academy Dinosaur,Lethbridge,4\n",
		"products.csv": "product_id,name\n1,Academy Dinosaur\n2,Ace Goldfinger\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// The tests below change the environment or the working directory, so none of
// them runs in parallel.

func TestSakilaDirFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	writeSakila(t, dir)
	t.Setenv(testutil.SakilaDirEnv, dir)

	if got := testutil.SakilaDir(t); got != dir {
		t.Errorf("got %q, want %q", got, dir)
	}
}

func TestSakilaDirEnvironmentWithoutFiles(t *testing.T) {
	t.Setenv(testutil.SakilaDirEnv, t.TempDir())
	t.Setenv("CI", "")

	tb := &recordingTB{TB: t}
	testutil.SakilaDir(tb)
	if !tb.failed {
		t.Errorf("got skipped=%v failed=%v, want a failure for a wrong %s", tb.skipped, tb.failed, testutil.SakilaDirEnv)
	}
}

func TestSakilaDirWalksUp(t *testing.T) {
	parent := t.TempDir()
	want := filepath.Join(parent, "shared", "data", "sakila")
	writeSakila(t, want)
	module := filepath.Join(parent, "repo", "lookup")
	if err := os.MkdirAll(module, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(testutil.SakilaDirEnv, "")
	t.Chdir(module)

	if got := testutil.SakilaDir(t); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := testutil.SakilaInventory(t).Len(); got != 2 {
		t.Errorf("got %d known products, want 2", got)
	}
}

func TestSakilaDirNotFound(t *testing.T) {
	tests := []struct {
		name        string
		ci          string
		wantSkipped bool
		wantFailed  bool
	}{
		{"skips outside CI", "", true, false},
		{"fails in CI", "true", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			empty := t.TempDir()
			for dir := empty; filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
				if _, err := os.Stat(filepath.Join(dir, "shared", "data", "sakila")); err == nil {
					t.Skipf("%s has Sakila data above it, so the search cannot fail there", empty)
				}
			}
			t.Setenv(testutil.SakilaDirEnv, "")
			t.Setenv("CI", tt.ci)
			t.Chdir(empty)

			tb := &recordingTB{TB: t}
			if got := testutil.SakilaDir(tb); got != "" {
				t.Errorf("got %q, want \"\"", got)
			}
			if tb.skipped != tt.wantSkipped || tb.failed != tt.wantFailed {
				t.Errorf("got skipped=%v failed=%v, want skipped=%v failed=%v",
					tb.skipped, tb.failed, tt.wantSkipped, tt.wantFailed)
			}
			if !strings.Contains(tb.message, testutil.SakilaDirEnv) {
				t.Errorf("got message %q, want it to name %s", tb.message, testutil.SakilaDirEnv)
			}
		})
	}
}
