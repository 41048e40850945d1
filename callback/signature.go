package callback

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names. Deliveries carry all three.
const (
	// HeaderWebhookID is the delivery's ID: "msg_" and the job ID, the same on
	// every attempt, so a receiver can drop a delivery it has already processed.
	HeaderWebhookID = "webhook-id"
	// HeaderWebhookTimestamp is the attempt's time in Unix seconds.
	HeaderWebhookTimestamp = "webhook-timestamp"
	// HeaderWebhookSignature is a space-separated list of "v1,<base64 HMAC-SHA256>".
	HeaderWebhookSignature = "webhook-signature"
)

// SecretPrefix starts every Standard Webhooks symmetric secret; the base64 of
// the key bytes follows it.
const SecretPrefix = "whsec_"

// Limits of a secret's key, in bytes after base64 decoding, as the Standard
// Webhooks specification sets them.
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock, either way, when Verify is given a tolerance of 0.
const DefaultTolerance = 5 * time.Minute

// secretBytes is the size of the keys that NewSecret generates.
const secretBytes = 32

// maxTimestamp bounds the accepted webhook-timestamp (about the year 36800),
// so that time arithmetic on it cannot overflow.
const maxTimestamp = 1 << 40

// Errors of Sign and Verify. Verify wraps one of them with the detail.
var (
	// ErrInvalidSecret means a secret is not "whsec_" followed by the standard
	// base64 of 24 to 64 bytes.
	ErrInvalidSecret = errors.New("callback: invalid webhook secret")

	// ErrSignatureHeaders means a webhook-id, webhook-timestamp or
	// webhook-signature header is missing or malformed.
	ErrSignatureHeaders = errors.New("callback: missing or malformed webhook signature headers")

	// ErrSignatureTimestamp means the delivery's timestamp is further from the
	// receiver's clock than the tolerance, so it may be a replay.
	ErrSignatureTimestamp = errors.New("callback: webhook timestamp outside the tolerance")

	// ErrSignatureMismatch means no v1 signature in the header matches the body
	// under the secret.
	ErrSignatureMismatch = errors.New("callback: no matching webhook signature")
)

// NewSecret returns a new random Standard Webhooks secret: "whsec_" and the
// base64 of 32 random bytes.
func NewSecret() string {
	var key [secretBytes]byte
	// crypto/rand.Read never returns an error; it panics if the system's source fails.
	_, _ = rand.Read(key[:])
	return SecretPrefix + base64.StdEncoding.EncodeToString(key[:])
}

// ValidSecret returns nil when secret is a valid Standard Webhooks secret, or
// an error that wraps ErrInvalidSecret and describes the fault.
func ValidSecret(secret string) error {
	_, err := decodeSecret(secret)
	return err
}

// Sign returns the webhook-signature value ("v1," and the base64 HMAC-SHA256)
// of a delivery with the given webhook-id, timestamp and body. The signed
// content is id, ".", the Unix seconds of ts, ".", and body. Sign fails with
// ErrInvalidSecret for an invalid secret, and with ErrSignatureHeaders for an
// empty id or one that contains a "." or whitespace, which would make the
// signed content ambiguous.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	if id == "" || strings.ContainsAny(id, ". \t\r\n") {
		return "", fmt.Errorf("%w: webhook-id %q is empty or contains a dot or whitespace", ErrSignatureHeaders, id)
	}

	mac := computeMAC(key, id, ts.Unix(), body)
	return "v1," + base64.StdEncoding.EncodeToString(mac), nil
}

// Verify checks a delivery's Standard Webhooks headers against its body and
// secret. It returns nil when the timestamp lies within tolerance of the
// current time (DefaultTolerance when tolerance is 0 or less) and at least one
// of the space-separated v1 signatures in the webhook-signature header matches.
// Signatures of other versions are skipped. The comparison takes constant time.
//
// The error wraps ErrInvalidSecret, ErrSignatureHeaders, ErrSignatureTimestamp
// or ErrSignatureMismatch. body must be the bytes exactly as received: a body
// that was decoded and encoded again will not match.
func Verify(secret string, header http.Header, body []byte, tolerance time.Duration) error {
	return verifyAt(secret, header, body, tolerance, time.Now())
}

// verifyAt is Verify with the receiver's clock reading given.
func verifyAt(secret string, header http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}

	id := header.Get(HeaderWebhookID)
	rawTS := header.Get(HeaderWebhookTimestamp)
	signatures := header.Get(HeaderWebhookSignature)
	if id == "" || rawTS == "" || signatures == "" {
		return fmt.Errorf("%w: webhook-id, webhook-timestamp and webhook-signature are all required", ErrSignatureHeaders)
	}

	ts, err := parseTimestamp(rawTS)
	if err != nil {
		return err
	}
	sent := time.Unix(ts, 0)
	if age := now.Sub(sent); age > tolerance {
		return fmt.Errorf("%w: timestamp %d is %v old, over the tolerance of %v", ErrSignatureTimestamp, ts, age.Round(time.Second), tolerance)
	}
	if ahead := sent.Sub(now); ahead > tolerance {
		return fmt.Errorf("%w: timestamp %d is %v in the future, over the tolerance of %v", ErrSignatureTimestamp, ts, ahead.Round(time.Second), tolerance)
	}

	want := computeMAC(key, id, ts, body)
	for _, versioned := range strings.Fields(signatures) {
		version, encoded, ok := strings.Cut(versioned, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: checked the v1 signatures of webhook-id %q", ErrSignatureMismatch, id)
}

// decodeSecret returns the key bytes of a "whsec_" secret.
func decodeSecret(secret string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: it does not start with %q", ErrInvalidSecret, SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: the part after %q is not standard base64", ErrInvalidSecret, SecretPrefix)
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return nil, fmt.Errorf("%w: the key is %d bytes, want %d to %d", ErrInvalidSecret, len(key), MinSecretBytes, MaxSecretBytes)
	}
	return key, nil
}

// parseTimestamp parses a webhook-timestamp: decimal Unix seconds from 0 to maxTimestamp.
func parseTimestamp(raw string) (int64, error) {
	ts, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || ts < 0 || ts > maxTimestamp || raw[0] == '+' {
		return 0, fmt.Errorf("%w: webhook-timestamp %q is not a number of Unix seconds", ErrSignatureHeaders, truncate(raw, 40))
	}
	return ts, nil
}

// computeMAC returns the HMAC-SHA256 of "id.ts.body" under key.
func computeMAC(key []byte, id string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, ts, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// truncate returns s cut to at most n bytes, with "..." when it was cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
