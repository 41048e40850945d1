package callback

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The vector of TestWebhookSign in the Standard Webhooks reference library
// (github.com/standard-webhooks/standard-webhooks, libraries/go/webhook_test.go).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vectorHeader(signature string) http.Header {
	h := http.Header{}
	h.Set(HeaderWebhookID, vectorID)
	h.Set(HeaderWebhookTimestamp, strconv.Itoa(vectorTimestamp))
	h.Set(HeaderWebhookSignature, signature)
	return h
}

func TestSignStandardVector(t *testing.T) {
	got, err := Sign(vectorSecret, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	require.NoError(t, err)
	assert.Equal(t, vectorSignature, got, "signature of the Standard Webhooks test vector")
}

func TestVerifyStandardVector(t *testing.T) {
	now := time.Unix(vectorTimestamp, 0).Add(time.Minute)
	err := verifyAt(vectorSecret, vectorHeader(vectorSignature), []byte(vectorBody), 0, now)
	assert.NoError(t, err)
}

func TestNewSecretIsValidAndRandom(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	require.NoError(t, ValidSecret(a))
	assert.NotEqual(t, a, b, "two secrets")

	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, SecretPrefix))
	require.NoError(t, err)
	assert.Len(t, key, secretBytes, "key bytes")
}

func TestSignVerifyRoundTrip(t *testing.T) {
	secret := NewSecret()
	body := []byte(`{"id":"0123456789abcdef0123456789abcdef","state":"succeeded"}`)
	now := time.Now()

	sig, err := Sign(secret, "msg_1", now, body)
	require.NoError(t, err)
	h := http.Header{}
	h.Set(HeaderWebhookID, "msg_1")
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(HeaderWebhookSignature, sig)

	assert.NoError(t, Verify(secret, h, body, 0))
}

func TestVerifyRejects(t *testing.T) {
	now := time.Unix(vectorTimestamp, 0)
	body := []byte(vectorBody)
	otherSecret := SecretPrefix + base64.StdEncoding.EncodeToString(make([]byte, 32))

	tests := []struct {
		name   string
		secret string
		header http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{"tampered body", vectorSecret, vectorHeader(vectorSignature), []byte(`{"test": 2432232315}`), now, ErrSignatureMismatch},
		{"body with trailing newline", vectorSecret, vectorHeader(vectorSignature), []byte(vectorBody + "\n"), now, ErrSignatureMismatch},
		{"other secret", otherSecret, vectorHeader(vectorSignature), body, now, ErrSignatureMismatch},
		{"other id", vectorSecret, func() http.Header {
			h := vectorHeader(vectorSignature)
			h.Set(HeaderWebhookID, "msg_other")
			return h
		}(), body, now, ErrSignatureMismatch},
		{"other timestamp", vectorSecret, func() http.Header {
			h := vectorHeader(vectorSignature)
			h.Set(HeaderWebhookTimestamp, strconv.Itoa(vectorTimestamp+1))
			return h
		}(), body, now, ErrSignatureMismatch},
		{"v2 prefix only", vectorSecret, vectorHeader("v2," + strings.TrimPrefix(vectorSignature, "v1,")), body, now, ErrSignatureMismatch},
		{"signature not base64", vectorSecret, vectorHeader("v1,!!!"), body, now, ErrSignatureMismatch},
		{"signature without comma", vectorSecret, vectorHeader("v1"), body, now, ErrSignatureMismatch},
		{"stale timestamp", vectorSecret, vectorHeader(vectorSignature), body, now.Add(DefaultTolerance + time.Second), ErrSignatureTimestamp},
		{"future timestamp", vectorSecret, vectorHeader(vectorSignature), body, now.Add(-DefaultTolerance - time.Second), ErrSignatureTimestamp},
		{"missing id", vectorSecret, func() http.Header {
			h := vectorHeader(vectorSignature)
			h.Del(HeaderWebhookID)
			return h
		}(), body, now, ErrSignatureHeaders},
		{"missing timestamp", vectorSecret, func() http.Header {
			h := vectorHeader(vectorSignature)
			h.Del(HeaderWebhookTimestamp)
			return h
		}(), body, now, ErrSignatureHeaders},
		{"missing signature", vectorSecret, vectorHeader(""), body, now, ErrSignatureHeaders},
		{"timestamp not a number", vectorSecret, func() http.Header {
			h := vectorHeader(vectorSignature)
			h.Set(HeaderWebhookTimestamp, "1614265330.5")
			return h
		}(), body, now, ErrSignatureHeaders},
		{"negative timestamp", vectorSecret, func() http.Header {
			h := vectorHeader(vectorSignature)
			h.Set(HeaderWebhookTimestamp, "-1")
			return h
		}(), body, now, ErrSignatureHeaders},
		{"huge timestamp", vectorSecret, func() http.Header {
			h := vectorHeader(vectorSignature)
			h.Set(HeaderWebhookTimestamp, "9223372036854775807")
			return h
		}(), body, now, ErrSignatureHeaders},
		{"secret without prefix", strings.TrimPrefix(vectorSecret, SecretPrefix), vectorHeader(vectorSignature), body, now, ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyAt(tt.secret, tt.header, tt.body, 0, tt.now)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

func TestVerifyAcceptsAnyOfSeveralSignatures(t *testing.T) {
	now := time.Unix(vectorTimestamp, 0)
	wrong := "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
	header := vectorHeader(strings.Join([]string{wrong, "v1a,AAAA", vectorSignature, wrong}, " "))

	assert.NoError(t, verifyAt(vectorSecret, header, []byte(vectorBody), 0, now))
}

func TestVerifyTolerance(t *testing.T) {
	sent := time.Unix(vectorTimestamp, 0)
	header := vectorHeader(vectorSignature)
	body := []byte(vectorBody)

	assert.NoError(t, verifyAt(vectorSecret, header, body, time.Minute, sent.Add(time.Minute)), "exactly at the tolerance")
	assert.ErrorIs(t, verifyAt(vectorSecret, header, body, time.Minute, sent.Add(61*time.Second)), ErrSignatureTimestamp)
	assert.NoError(t, verifyAt(vectorSecret, header, body, time.Hour, sent.Add(59*time.Minute)), "within a longer tolerance")
}

func TestValidSecret(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		valid  bool
	}{
		{"standard vector (24 bytes)", vectorSecret, true},
		{"64 bytes", SecretPrefix + base64.StdEncoding.EncodeToString(make([]byte, 64)), true},
		{"23 bytes", SecretPrefix + base64.StdEncoding.EncodeToString(make([]byte, 23)), false},
		{"65 bytes", SecretPrefix + base64.StdEncoding.EncodeToString(make([]byte, 65)), false},
		{"no prefix", base64.StdEncoding.EncodeToString(make([]byte, 32)), false},
		{"not base64", SecretPrefix + "not base64 at all!!", false},
		{"url-safe alphabet", SecretPrefix + strings.Repeat("-_", 16), false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidSecret(tt.secret)
			if tt.valid {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrInvalidSecret)
			}
		})
	}
}

func TestSignRejectsAmbiguousID(t *testing.T) {
	for _, id := range []string{"", "msg.1", "msg 1"} {
		_, err := Sign(vectorSecret, id, time.Unix(vectorTimestamp, 0), nil)
		assert.ErrorIs(t, err, ErrSignatureHeaders, "id %q", id)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte(vectorBody), vectorID, strconv.Itoa(vectorTimestamp), vectorSignature, 0)
	f.Add([]byte(`{}`), "msg_x", "0", "v1,AAAA v1,", 3)
	f.Add([]byte(""), "", "", "", 1)

	f.Fuzz(func(t *testing.T, body []byte, id, ts, signatures string, flip int) {
		header := http.Header{}
		header.Set(HeaderWebhookID, id)
		header.Set(HeaderWebhookTimestamp, ts)
		header.Set(HeaderWebhookSignature, signatures)
		now := time.Unix(vectorTimestamp, 0)

		// Arbitrary headers must never panic.
		_ = verifyAt(vectorSecret, header, body, 0, now)

		// A correctly signed delivery verifies, and any change to its body fails.
		if id == "" || strings.ContainsAny(id, ". \t\r\n") {
			return
		}
		sig, err := Sign(vectorSecret, id, now, body)
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		signed := http.Header{}
		signed.Set(HeaderWebhookID, id)
		signed.Set(HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		signed.Set(HeaderWebhookSignature, signatures+" "+sig)
		if err := verifyAt(vectorSecret, signed, body, 0, now); err != nil {
			t.Fatalf("correctly signed delivery rejected: %v", err)
		}

		modified := append([]byte(nil), body...)
		if len(modified) == 0 {
			modified = []byte{byte(flip)}
		} else {
			i := int(uint(flip) % uint(len(modified)))
			modified[i] ^= byte(1 + uint(flip)%255)
		}
		if err := verifyAt(vectorSecret, signed, modified, 0, now); err == nil {
			t.Fatalf("modified body %q (from %q) accepted", modified, body)
		}
	})
}
