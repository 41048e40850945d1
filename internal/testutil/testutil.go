package testutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/longhaul-go/longhaul/lookup"
)

// SakilaDirEnv is the environment variable that points the tests at the
// directory with the Sakila stock data.
const SakilaDirEnv = "LONGHAUL_SAKILA_DIR"

// SakilaDir returns the directory with the Sakila stock data (stock.csv,
// products.csv).
//
// It uses $LONGHAUL_SAKILA_DIR when set, and fails the test when that directory
// lacks the files. Otherwise it walks up from the current directory and returns
// DIR/shared/data/sakila for the first DIR on the way where that directory has
// the files. This finds the data when the repository is checked out next to a
// directory named shared.
//
// When the data is not found, it skips the test. If the environment variable CI
// is non-empty, it fails the test instead, because the Sakila tests are
// required in CI.
func SakilaDir(t testing.TB) string {
	t.Helper()

	if dir := os.Getenv(SakilaDirEnv); dir != "" {
		if !hasSakila(dir) {
			t.Fatalf("$%s is %q, but that directory does not contain stock.csv and products.csv: point it at the Sakila data or unset it",
				SakilaDirEnv, dir)
			return ""
		}
		return dir
	}

	start, err := os.Getwd()
	if err != nil {
		t.Fatalf("failed to get the current directory: %v", err)
		return ""
	}
	for dir := start; ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(dir, "shared", "data", "sakila")
		if hasSakila(candidate) {
			return candidate
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}

	msg := "Sakila stock data not found in shared/data/sakila above " + start +
		": set " + SakilaDirEnv + " to the directory that contains stock.csv and products.csv"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (the Sakila tests are required when CI is set)")
		return ""
	}
	t.Skip(msg)
	return ""
}

// SakilaInventory loads the Sakila stock and products files into an inventory,
// and fails the test when either file is invalid. It skips the test like
// SakilaDir when the data is not found.
func SakilaInventory(t testing.TB) *lookup.Inventory {
	t.Helper()

	dir := SakilaDir(t)
	if dir == "" {
		return nil
	}
	inv, err := lookup.LoadCSV(filepath.Join(dir, "stock.csv"), filepath.Join(dir, "products.csv"))
	if err != nil {
		t.Fatalf("failed to load the Sakila data: %v", err)
		return nil
	}
	return inv
}

func hasSakila(dir string) bool {
	for _, name := range []string{"stock.csv", "products.csv"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !info.Mode().IsRegular() {
			return false
		}
	}
	return true
}
