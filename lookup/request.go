package lookup

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/longhaul-go/longhaul/transport"
)

// Limits on a request. Servers reject a request that breaks one with a 400
// problem of code invalid-request before a job exists.
const (
	// MaxProductIDs is the maximum number of product IDs in one request.
	// Split divides a larger list into requests that fit.
	MaxProductIDs = 1000

	// MaxIDLength is the maximum length of one product ID in bytes.
	MaxIDLength = 64
)

// maxQuotedID is the maximum number of bytes of an invalid ID that an error
// message quotes.
const maxQuotedID = 40

// Request is the input of a stock lookup: the products whose stock to return.
type Request struct {
	// ProductIDs lists the products to look up. Duplicates are allowed and each
	// one is reported. An empty list is valid and yields an empty result.
	ProductIDs []string `json:"product_ids"`
}

var _ transport.Validator = Request{}

// Validate checks the request against MaxProductIDs and the ID rules: every ID
// is 1 to MaxIDLength bytes of valid UTF-8 and contains only printable
// characters other than whitespace. It returns a *transport.Problem with status
// 400 and code invalid-request that names the first offending value, its index
// and the fix, or nil when the request is valid.
func (r Request) Validate() error {
	if n := len(r.ProductIDs); n > MaxProductIDs {
		return transport.InvalidRequest(
			"product_ids has %d entries, over the limit of %d per request: split the list into requests of at most %d IDs",
			n, MaxProductIDs, MaxProductIDs)
	}

	for i, id := range r.ProductIDs {
		if reason := checkID(id); reason != "" {
			return transport.InvalidRequest("product_ids[%d] %s", i, reason)
		}
	}

	return nil
}

// checkID returns why id breaks the ID rules and how to fix it, starting with
// the quoted value, or "" when id is valid. Requests and inventory sources share
// the rules and the wording.
func checkID(id string) string {
	if id == "" {
		return fmt.Sprintf(`"" is empty: remove the entry or fill in a product ID of 1 to %d bytes`, MaxIDLength)
	}
	if len(id) > MaxIDLength {
		return fmt.Sprintf("%s is %d bytes, over the limit of %d bytes: use the product ID, not a name or description",
			quoteID(id), len(id), MaxIDLength)
	}
	if !utf8.ValidString(id) {
		return fmt.Sprintf("%s is not valid UTF-8: encode product IDs as UTF-8", quoteID(id))
	}

	for offset, r := range id {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Sprintf("%s contains the whitespace or non-printable character %U at byte %d: remove it, because product IDs contain only printable characters other than whitespace",
				quoteID(id), r, offset)
		}
	}

	return ""
}

// quoteID quotes id with %q, cut to maxQuotedID bytes and marked with "..."
// when longer, so that error messages stay readable.
func quoteID(id string) string {
	if len(id) <= maxQuotedID {
		return fmt.Sprintf("%q", id)
	}

	// Back off to the start of a rune, at most UTFMax-1 bytes, so that a valid
	// ID is not cut inside a character. Invalid bytes are escaped by %q anyway.
	cut := maxQuotedID
	for range utf8.UTFMax - 1 {
		if utf8.RuneStart(id[cut]) {
			break
		}
		cut--
	}
	return fmt.Sprintf("%q...", id[:cut])
}
