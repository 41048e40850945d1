package wire_test

// The websocket package fuzzes DecodeClientMessage and DecodeServerMessage
// (FuzzDecodeClientMessage, FuzzDecodeServerMessage), so they are not
// repeated here.

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// FuzzWait checks that the Prefer header and the wait query parameter, both
// sent by any client, never make Wait panic or return a negative wait or one
// above the cap.
func FuzzWait(f *testing.F) {
	for _, seed := range []struct {
		query, prefer1, prefer2 string
		maxWait                 int64
	}{
		{"", "wait=10", "", 0},
		{"", "respond-async, wait=5", "", int64(time.Minute)},
		{"", "handling=lenient", `wait="12"; x=y`, 0},
		{"wait=2.5", "wait=20", "", int64(5 * time.Second)},
		{"wait=", "WAIT = 3", "", 0},
		{"wait=-1", "", "", 0},
		{"", "wait=1e400", "", math.MaxInt64},
		{"", "wait=9223372036.854775", "", math.MaxInt64},
		{"", "wait=NaN", "wait=Inf", -1},
		{"wait=0x1p-20&wait=4", "", "", 1},
		{"%zz;wait=3", "wait", "", 0},
	} {
		f.Add(seed.query, seed.prefer1, seed.prefer2, seed.maxWait)
	}

	f.Fuzz(func(t *testing.T, query, prefer1, prefer2 string, maxWait int64) {
		r := &http.Request{
			Method: http.MethodGet,
			URL:    &url.URL{Path: "/jobs/x", RawQuery: query},
			Header: http.Header{"Prefer": {prefer1, prefer2}},
		}
		limit := time.Duration(maxWait)
		if limit <= 0 {
			limit = wire.DefaultMaxWait
		}

		got, p := wire.Wait(r, time.Duration(maxWait))
		if p != nil {
			if p.Status != http.StatusBadRequest || p.Code != transport.CodeInvalidRequest || p.Detail == "" {
				t.Fatalf("got problem %+v, want a 400 invalid-request problem with a detail", p)
			}
			if got != 0 {
				t.Fatalf("got wait %v with a problem, want 0", got)
			}
			return
		}
		if got < 0 || got > limit {
			t.Fatalf("got wait %v, want one from 0 to %v", got, limit)
		}
	})
}

// FuzzDeadline checks that any Longhaul-Timeout value gives either a 400
// problem or a deadline at least 1 ms after now, a whole number of
// milliseconds away.
func FuzzDeadline(f *testing.F) {
	for _, seed := range []string{"30000", "1", " 250 ", "0", "-5", "1.5", "abc", "+7",
		"9223372036854775807", "99999999999999999999999", "-9223372036854775808", ""} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, value string) {
		r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/run"}, Header: http.Header{}}
		r.Header.Set(wire.HeaderTimeout, value)

		got, p := wire.Deadline(r, testNow)
		if p != nil {
			if p.Status != http.StatusBadRequest || p.Code != transport.CodeInvalidRequest {
				t.Fatalf("got problem %+v, want a 400 invalid-request problem", p)
			}
			if !got.IsZero() {
				t.Fatalf("got deadline %v with a problem, want the zero time", got)
			}
			return
		}
		if value == "" {
			if !got.IsZero() {
				t.Fatalf("got deadline %v without the header, want the zero time", got)
			}
			return
		}

		left := got.Sub(testNow)
		if left < time.Millisecond || left%time.Millisecond != 0 {
			t.Fatalf("Longhaul-Timeout %q gave %v left, want a positive whole number of milliseconds", value, left)
		}
		ms, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err == nil && ms <= int64(math.MaxInt64/time.Millisecond) && left != time.Duration(ms)*time.Millisecond {
			t.Fatalf("Longhaul-Timeout %q gave %v left, want %d ms", value, left, ms)
		}
	})
}

// FuzzRetryAfter checks that a Retry-After value from any server never gives a
// negative delay, and that delta-seconds give exactly that many seconds.
func FuzzRetryAfter(f *testing.F) {
	for _, seed := range []string{"1", "120", " 5 ", "0", "-1", "1.5", "soon",
		"Fri, 04 Dec 2026 20:01:30 GMT", "Friday, 04-Dec-26 21:00:00 GMT", "Fri Dec  4 20:01:00 2026",
		"Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "99999999999999999999999"} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, value string) {
		h := http.Header{}
		h.Set("Retry-After", value)

		got := wire.RetryAfter(h, testNow)
		if got < 0 {
			t.Fatalf("RetryAfter(%q) = %v, want no negative delay", value, got)
		}
		seconds, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err == nil && seconds >= 0 && seconds <= int64(math.MaxInt64/time.Second) && got != time.Duration(seconds)*time.Second {
			t.Fatalf("RetryAfter(%q) = %v, want %d s", value, got, seconds)
		}
	})
}

// FuzzParseETag checks that ParseETag accepts any If-None-Match value and
// reads back every ETag.
func FuzzParseETag(f *testing.F) {
	for _, seed := range []string{`"42"`, `W/"42"`, `*`, `"1", "2"`, `""`, `"18446744073709551616"`, ` "7" `, `W/`} {
		f.Add(seed, uint64(42))
	}
	f.Add(`"0"`, uint64(math.MaxUint64))

	f.Fuzz(func(t *testing.T, value string, version uint64) {
		_ = wire.ParseETag(value)
		if got := wire.ParseETag(wire.ETag(version)); got != version {
			t.Fatalf("ParseETag(ETag(%d)) = %d", version, got)
		}
		if got := wire.ParseETag("W/" + wire.ETag(version)); got != version {
			t.Fatalf("ParseETag of weak ETag(%d) = %d", version, got)
		}
	})
}

// FuzzValidateIdempotencyKey checks that exactly the keys of at most
// MaxIdempotencyKeyLength visible ASCII bytes (0x21 to 0x7e) are accepted.
func FuzzValidateIdempotencyKey(f *testing.F) {
	for _, seed := range []string{"", "k1", "0b4f8f5c-1c7e-4b43-9d1d-5f0e2a3c4b5d", "a b", "clé", "a\x00", "\x7f",
		strings.Repeat("k", wire.MaxIdempotencyKeyLength), strings.Repeat("k", wire.MaxIdempotencyKeyLength+1)} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, key string) {
		want := len(key) <= wire.MaxIdempotencyKeyLength
		for i := 0; i < len(key); i++ {
			if key[i] < 0x21 || key[i] > 0x7e {
				want = false
			}
		}

		p := wire.ValidateIdempotencyKey(key)
		if got := p == nil; got != want {
			t.Fatalf("ValidateIdempotencyKey(%q) accepted: %v, want %v", key, got, want)
		}
		if p != nil && (p.Status != http.StatusBadRequest || p.Code != transport.CodeInvalidRequest) {
			t.Fatalf("got problem %+v, want a 400 invalid-request problem", p)
		}
	})
}

var problemSeeds = []string{
	`{"type":"https://github.com/longhaul-go/longhaul/blob/main/docs/PROTOCOL.md#invalid-request","title":"Invalid request","status":400,"code":"invalid-request","detail":"product_ids[1] is empty"}`,
	`{"type":"https://github.com/longhaul-go/longhaul/blob/main/docs/PROTOCOL.md#not-found","status":404}`,
	`{"type":"https://github.com/longhaul-go/longhaul/blob/main/docs/PROTOCOL.md#"}`,
	`{"type":"about:blank","title":"Service Unavailable","status":503}`,
	`{"code":"job-failed","job_id":"9f1c2b7a4d6e8f0a1b2c3d4e5f607182","instance":"/jobs/9f1c2b7a4d6e8f0a1b2c3d4e5f607182"}`,
	`{"title":"no code"}`, `{"code":404}`, `{}`, `null`, `[]`, ``, `<html>502 Bad Gateway</html>`,
}

// FuzzDecodeProblem checks that a problem from any server never makes
// DecodeProblem panic, that an accepted problem has a code, and that it decodes
// the same after encoding.
func FuzzDecodeProblem(f *testing.F) {
	for _, seed := range problemSeeds {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := wire.DecodeProblem(body)
		if err != nil {
			if p != nil {
				t.Fatalf("got problem %+v with error %v, want nil", p, err)
			}
			return
		}
		if p.Code == "" {
			t.Fatalf("accepted problem %+v has no code", p)
		}

		encoded, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("accepted problem %+v cannot be encoded: %v", p, err)
		}
		again, err := wire.DecodeProblem(encoded)
		if err != nil {
			t.Fatalf("re-encoded problem %s is rejected: %v", encoded, err)
		}
		if *again != *p {
			t.Fatalf("got %+v after re-encoding, want %+v", *again, *p)
		}
	})
}

// FuzzReadProblem checks that any error response gives a problem with a code
// and a status, and that a body that is not a problem gives a short detail.
func FuzzReadProblem(f *testing.F) {
	for _, seed := range problemSeeds {
		f.Add(http.StatusBadGateway, []byte(seed))
	}
	f.Add(http.StatusNotFound, []byte("404 page not found\n"))
	f.Add(http.StatusServiceUnavailable, []byte(strings.Repeat("overloaded ", 100)))

	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = http.StatusInternalServerError // net/http accepts three-digit codes only
		}
		resp := &http.Response{StatusCode: status, Status: strconv.Itoa(status), Body: http.NoBody}
		if len(body) > 0 {
			resp.Body = readCloser{bytes.NewReader(body)}
		}

		p := wire.ReadProblem(resp)
		if p == nil || p.Code == "" || p.Status == 0 {
			t.Fatalf("got problem %+v, want one with a code and a status", p)
		}
		if _, err := wire.DecodeProblem(body[:min(len(body), wire.MaxProblemBytes)]); err != nil {
			if p.Status != status {
				t.Fatalf("got status %d for a body that is not a problem, want the response's %d", p.Status, status)
			}
			if len(p.Detail) > 1024 {
				t.Fatalf("got a detail of %d bytes for a body that is not a problem, want a short one", len(p.Detail))
			}
		}
	})
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// FuzzDecodeStatus checks that a status document from any server never makes
// DecodeStatus panic, that an accepted one obeys every rule that clients rely
// on, and that it encodes and decodes again without change.
func FuzzDecodeStatus(f *testing.F) {
	for _, seed := range []string{
		`{"id":"` + testJobID + `","state":"queued","progress":{"done":0,"total":0},"created_at":"2026-12-04T20:00:00Z","updated_at":"2026-12-04T20:00:00Z"}`,
		`{"id":"` + testJobID + `","state":"running","progress":{"done":2,"total":5},"callback":{"url":"https://c.example/cb","state":"pending","attempts":1}}`,
		`{"id":"` + testJobID + `","state":"succeeded","finished_at":"2026-12-04T20:00:07+01:00","expires_at":"2026-12-05T20:00:07Z","result":{"items":[]}}`,
		`{"id":"` + testJobID + `","state":"succeeded","result":null}`,
		`{"id":"` + testJobID + `","state":"failed","problem":{"type":"x","code":"job-failed","detail":"boom"}}`,
		`{"id":"` + testJobID + `","state":"failed","problem":{}}`,
		`{"id":"` + testJobID + `","state":"canceled"}`,
		`{"id":"` + testJobID + `","state":"succeeded"}`,
		`{"id":"../../run","state":"queued"}`,
		`{"id":"` + testJobID + `","state":"exploded"}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := wire.DecodeStatus(body)
		if err != nil {
			if s != nil {
				t.Fatalf("got status %+v with error %v, want nil", s, err)
			}
			return
		}
		checkStatus(t, s)

		encoded, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("accepted status %+v cannot be encoded: %v", s, err)
		}
		again, err := wire.DecodeStatus(encoded)
		if err != nil {
			t.Fatalf("re-encoded status %s is rejected: %v", encoded, err)
		}
		reencoded, err := json.Marshal(again)
		if err != nil {
			t.Fatalf("status %+v cannot be encoded a second time: %v", again, err)
		}
		if !bytes.Equal(encoded, reencoded) {
			t.Fatalf("status changed in a round trip:\n got %s\nwant %s", reencoded, encoded)
		}
	})
}

// checkStatus fails the test unless s obeys the rules of an accepted status.
func checkStatus(t *testing.T, s *wire.Status) {
	t.Helper()
	if !jobs.ValidID(s.ID) {
		t.Fatalf("accepted status has invalid job ID %q", s.ID)
	}
	switch s.State {
	case jobs.StateQueued, jobs.StateRunning, jobs.StateCanceled:
	case jobs.StateSucceeded:
		if len(s.Result) == 0 {
			t.Fatal("accepted succeeded status has no result")
		}
	case jobs.StateFailed:
		if s.Problem == nil {
			t.Fatal("accepted failed status has no problem")
		}
	default:
		t.Fatalf("accepted status has unknown state %q", s.State)
	}
	if s.Result != nil && !json.Valid(s.Result) {
		t.Fatalf("accepted status has invalid JSON result %q", s.Result)
	}
}
