package lookup

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// The headers that the first line of each CSV file must match exactly.
var (
	stockHeader    = []string{"product_id", "name", "location", "quantity"}
	productsHeader = []string{"product_id", "name"}
)

// ParseError reports an invalid line in an inventory CSV file.
type ParseError struct {
	File   string // the file's path, or "stock" or "products" for ReadCSV
	Line   int    // 1-based line of the field at fault
	Column int    // 1-based byte column of the field at fault, 1 when the whole row is at fault
	Err    error  // what is wrong and how to fix it
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("lookup: %s:%d:%d: %v", e.File, e.Line, e.Column, e.Err)
}

// Unwrap returns the underlying error, such as csv.ErrQuote for broken quoting.
func (e *ParseError) Unwrap() error { return e.Err }

// LoadCSV reads an inventory from a stock file and, unless productsPath is "",
// a products file. See ReadCSV for the format and the rules.
func LoadCSV(stockPath, productsPath string) (*Inventory, error) {
	stock, err := os.Open(stockPath)
	if err != nil {
		return nil, fmt.Errorf("lookup: failed to open the stock file: %w", err)
	}
	defer stock.Close()

	var products io.Reader
	if productsPath != "" {
		f, err := os.Open(productsPath)
		if err != nil {
			return nil, fmt.Errorf("lookup: failed to open the products file: %w", err)
		}
		defer f.Close()
		products = f
	}

	return readCSV(stock, stockPath, products, productsPath)
}

// ReadCSV reads an inventory from CSV stock rows and, unless products is nil,
// a CSV catalogue.
//
// The stock file has the header product_id,name,location,quantity and one row
// per product and location. Fields that contain commas are quoted. The
// products file has the header product_id,name and one row per product.
//
// With a products file, every product it lists is known, and a product without
// stock rows is out of stock: quantity 0, no locations. Without one, only
// products with stock rows are known, so an out-of-stock product cannot be
// distinguished from an ID that does not exist. Either way a product with
// stock rows is known, and a stock row with quantity 0 makes the product known
// without adding a location. Quantity is the sum over locations, and locations
// keep the order of the file.
//
// Any invalid line fails the whole read with a *ParseError. The error names the
// source ("stock" or "products"), the line and column, and what to fix. A line
// is invalid for a missing or wrong header, a wrong field count, a quantity
// that is not a non-negative integer, or a product ID that breaks the request's
// ID rules. It is also invalid for the same product and location twice, a
// product listed twice in the products file, an empty location, or two names
// for one product.
func ReadCSV(stock io.Reader, products io.Reader) (*Inventory, error) {
	return readCSV(stock, "stock", products, "products")
}

func readCSV(stock io.Reader, stockName string, products io.Reader, productsName string) (*Inventory, error) {
	b := newBuilder()

	if products != nil {
		err := readRows(products, productsName, productsHeader, func(record []string, where string) *rowError {
			return b.addProduct(Product{ID: record[0], Name: record[1]}, where)
		})
		if err != nil {
			return nil, err
		}
	}

	err := readRows(stock, stockName, stockHeader, func(record []string, where string) *rowError {
		quantity, err := parseQuantity(record[3])
		if err != nil {
			return err
		}
		return b.addStock(StockRow{ProductID: record[0], Name: record[1], Location: record[2], Quantity: quantity}, where)
	})
	if err != nil {
		return nil, err
	}

	return b.build(), nil
}

func parseQuantity(field string) (int, *rowError) {
	quantity, err := strconv.Atoi(field)
	if errors.Is(err, strconv.ErrRange) {
		return 0, &rowError{"quantity", fmt.Sprintf("quantity %q is too large: check the value", field)}
	}
	if err != nil {
		return 0, &rowError{"quantity", fmt.Sprintf(
			"quantity %q is not an integer: give the units on hand as a whole number, 0 or more", field)}
	}
	return quantity, nil
}

// readRows checks the header of the CSV file r and passes each further row to
// add, with the row's position as "file:line" for messages about later rows.
func readRows(r io.Reader, name string, header []string, add func(record []string, where string) *rowError) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a wrong count is reported below with the expected header
	cr.ReuseRecord = true

	record, err := cr.Read()
	if err == io.EOF {
		return &ParseError{File: name, Line: 1, Column: 1, Err: fmt.Errorf(
			"the file is empty: the first line must be the header %s", strings.Join(header, ","))}
	}
	if err != nil {
		return readError(name, err)
	}
	if err := checkHeader(cr, name, record, header); err != nil {
		return err
	}

	for {
		record, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return readError(name, err)
		}

		if err := checkFieldCount(cr, name, record, header); err != nil {
			return err
		}

		line, _ := cr.FieldPos(0)
		if bad := add(record, fmt.Sprintf("%s:%d", name, line)); bad != nil {
			field := max(slices.Index(header, bad.field), 0)
			line, column := cr.FieldPos(field)
			return &ParseError{File: name, Line: line, Column: column, Err: errors.New(bad.msg)}
		}
	}
}

func checkHeader(cr *csv.Reader, name string, record, header []string) error {
	// Spreadsheet programs often start UTF-8 files with a byte order mark.
	record[0] = strings.TrimPrefix(record[0], "\ufeff")
	want := strings.Join(header, ",")

	for i, field := range header {
		if i >= len(record) {
			line, column := cr.FieldPos(len(record) - 1)
			return &ParseError{File: name, Line: line, Column: column, Err: fmt.Errorf(
				"header has %d fields, want %d: the first line must be the header %s", len(record), len(header), want)}
		}
		if record[i] != field {
			line, column := cr.FieldPos(i)
			return &ParseError{File: name, Line: line, Column: column, Err: fmt.Errorf(
				"header field %d is %q, want %q: the first line must be the header %s", i+1, record[i], field, want)}
		}
	}
	if len(record) > len(header) {
		line, column := cr.FieldPos(len(header))
		return &ParseError{File: name, Line: line, Column: column, Err: fmt.Errorf(
			"header has %d fields, want %d: the first line must be the header %s", len(record), len(header), want)}
	}
	return nil
}

func checkFieldCount(cr *csv.Reader, name string, record, header []string) error {
	want := strings.Join(header, ",")

	if len(record) > len(header) {
		line, column := cr.FieldPos(len(header))
		return &ParseError{File: name, Line: line, Column: column, Err: fmt.Errorf(
			"row has %d fields, want %d (%s): wrap a field that contains a comma in double quotes", len(record), len(header), want)}
	}
	if len(record) < len(header) {
		line, _ := cr.FieldPos(0)
		return &ParseError{File: name, Line: line, Column: 1, Err: fmt.Errorf(
			"row has %d fields, want %d (%s): fill in the missing fields", len(record), len(header), want)}
	}
	return nil
}

// readError wraps an error of csv.Reader.Read: a syntax error gets its position
// and a hint about quoting, and any other error is one of the underlying reader.
func readError(name string, err error) error {
	var syntax *csv.ParseError
	if errors.As(err, &syntax) {
		return &ParseError{File: name, Line: syntax.Line, Column: syntax.Column, Err: fmt.Errorf(
			"%w: wrap a field that contains a comma, quote or line break in double quotes, and double each quote inside it",
			syntax.Err)}
	}
	return fmt.Errorf("lookup: failed to read %s: %w", name, err)
}
