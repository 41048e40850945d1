package wire_test

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
)

// maxDuration is the maximum time.Duration.
const maxDuration = time.Duration(math.MaxInt64)

// errNoToken is the error of an authorization hook that rejects a request.
var errNoToken = errors.New("missing bearer token")

// testNow is the fixed clock of the header tests. It has whole seconds, as an
// HTTP date has.
var testNow = time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)

// requireInvalidRequest fails the test unless p is a 400 invalid-request
// problem whose detail contains each of parts.
func requireInvalidRequest(t *testing.T, p *transport.Problem, parts ...string) {
	t.Helper()
	require.NotNil(t, p, "got no problem, want a 400 invalid-request problem")
	assert.Equal(t, http.StatusBadRequest, p.Status, "problem status")
	assert.Equal(t, transport.CodeInvalidRequest, p.Code, "problem code")
	assert.Equal(t, transport.ProblemTypeBase+transport.CodeInvalidRequest, p.Type, "problem type")
	for _, part := range parts {
		assert.Contains(t, p.Detail, part, "problem detail")
	}
}

func waitRequest(target string, prefer ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, v := range prefer {
		r.Header.Add("Prefer", v)
	}
	return r
}

func TestWait(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		target  string
		prefer  []string
		maxWait time.Duration
		want    time.Duration
	}{
		{name: "no preference", target: "/jobs/x", want: 0},
		{name: "unrelated preference", target: "/jobs/x", prefer: []string{"respond-async"}, want: 0},
		{name: "whole seconds", target: "/jobs/x", prefer: []string{"wait=10"}, want: 10 * time.Second},
		{name: "zero", target: "/jobs/x", prefer: []string{"wait=0"}, want: 0},
		{name: "negative zero", target: "/jobs/x", prefer: []string{"wait=-0"}, want: 0},
		{name: "fraction", target: "/jobs/x", prefer: []string{"wait=2.5"}, want: 2500 * time.Millisecond},
		{name: "after another preference", target: "/jobs/x", prefer: []string{"respond-async, wait=10"}, want: 10 * time.Second},
		{name: "before another preference", target: "/jobs/x", prefer: []string{"wait=7, respond-async"}, want: 7 * time.Second},
		{name: "among preferences with values", target: "/jobs/x", prefer: []string{"handling=lenient, return=minimal, wait=4"}, want: 4 * time.Second},
		{name: "with parameters", target: "/jobs/x", prefer: []string{"wait=10; foo=bar"}, want: 10 * time.Second},
		{name: "with parameter and no space", target: "/jobs/x", prefer: []string{"wait=3;x"}, want: 3 * time.Second},
		{name: "other preference has parameters", target: "/jobs/x", prefer: []string{"handling=lenient; a=b, wait=6"}, want: 6 * time.Second},
		{name: "second Prefer header", target: "/jobs/x", prefer: []string{"respond-async", "wait=5"}, want: 5 * time.Second},
		{name: "first of two waits in one header", target: "/jobs/x", prefer: []string{"wait=5, wait=9"}, want: 5 * time.Second},
		{name: "first of two waits in two headers", target: "/jobs/x", prefer: []string{"wait=5", "wait=9"}, want: 5 * time.Second},
		{name: "quoted value", target: "/jobs/x", prefer: []string{`wait="12"`}, want: 12 * time.Second},
		{name: "empty quoted value", target: "/jobs/x", prefer: []string{`wait=""`}, want: 0},
		{name: "upper case name", target: "/jobs/x", prefer: []string{"WAIT=3"}, want: 3 * time.Second},
		{name: "mixed case name", target: "/jobs/x", prefer: []string{"Wait=3"}, want: 3 * time.Second},
		{name: "spaces around equals", target: "/jobs/x", prefer: []string{"  wait = 4  "}, want: 4 * time.Second},
		{name: "tabs around equals", target: "/jobs/x", prefer: []string{"wait\t=\t4"}, want: 4 * time.Second},
		{name: "name without value", target: "/jobs/x", prefer: []string{"wait"}, want: 0},
		{name: "longer name", target: "/jobs/x", prefer: []string{"waiting=10"}, want: 0},
		{name: "query", target: "/jobs/x?wait=3", want: 3 * time.Second},
		{name: "query before Prefer", target: "/jobs/x?wait=3", prefer: []string{"wait=20"}, want: 3 * time.Second},
		{name: "empty query falls back to Prefer", target: "/jobs/x?wait=", prefer: []string{"wait=20"}, want: 20 * time.Second},
		{name: "other query parameter", target: "/jobs/x?w=3", want: 0},
		{name: "at the cap", target: "/jobs/x", prefer: []string{"wait=30"}, want: 30 * time.Second},
		{name: "over the cap", target: "/jobs/x", prefer: []string{"wait=31"}, want: 30 * time.Second},
		{name: "hour", target: "/jobs/x?wait=3600", want: 30 * time.Second},
		{name: "huge", target: "/jobs/x", prefer: []string{"wait=1e300"}, want: 30 * time.Second},
		{name: "beyond float64", target: "/jobs/x", prefer: []string{"wait=1e400"}, want: 30 * time.Second},
		{name: "many digits", target: "/jobs/x?wait=99999999999999999999999999", want: 30 * time.Second},
		{name: "infinity", target: "/jobs/x", prefer: []string{"wait=Inf"}, want: 30 * time.Second},
		{name: "smaller cap", target: "/jobs/x", prefer: []string{"wait=10"}, maxWait: 5 * time.Second, want: 5 * time.Second},
		{name: "under a smaller cap", target: "/jobs/x", prefer: []string{"wait=1.5"}, maxWait: 5 * time.Second, want: 1500 * time.Millisecond},
		{name: "negative cap means default", target: "/jobs/x", prefer: []string{"wait=100"}, maxWait: -time.Second, want: wire.DefaultMaxWait},
		{name: "longest cap", target: "/jobs/x", prefer: []string{"wait=1e300"}, maxWait: maxDuration, want: maxDuration},
		{name: "rounding up to a large cap", target: "/jobs/x", prefer: []string{"wait=7.427726294333847e+09"}, maxWait: 7427726294333847541, want: 7427726294333847541},
		{name: "just under the longest cap", target: "/jobs/x", prefer: []string{"wait=9223372036.854775"}, maxWait: maxDuration, want: 9223372036854774784},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, p := wire.Wait(waitRequest(tt.target, tt.prefer...), tt.maxWait)
			require.Nil(t, p, "got problem %v, want none", p)
			assert.Equal(t, tt.want, got, "wait")
		})
	}
}

func TestWaitInvalid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		target string
		prefer []string
		source string
	}{
		{name: "negative", target: "/jobs/x", prefer: []string{"wait=-1"}, source: "Prefer: wait"},
		{name: "negative infinity", target: "/jobs/x", prefer: []string{"wait=-Inf"}, source: "Prefer: wait"},
		{name: "huge negative", target: "/jobs/x", prefer: []string{"wait=-1e400"}, source: "Prefer: wait"},
		{name: "NaN", target: "/jobs/x", prefer: []string{"wait=NaN"}, source: "Prefer: wait"},
		{name: "word", target: "/jobs/x", prefer: []string{"wait=soon"}, source: "Prefer: wait"},
		{name: "unit suffix", target: "/jobs/x", prefer: []string{"wait=10s"}, source: "Prefer: wait"},
		{name: "query negative", target: "/jobs/x?wait=-5", source: "query parameter wait"},
		{name: "query word", target: "/jobs/x?wait=x", prefer: []string{"wait=5"}, source: "query parameter wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, p := wire.Wait(waitRequest(tt.target, tt.prefer...), 0)
			requireInvalidRequest(t, p, tt.source)
			assert.Zero(t, got, "wait")
		})
	}
}

func deadlineRequest(timeout string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/run", nil)
	if timeout != "" {
		r.Header.Set(wire.HeaderTimeout, timeout)
	}
	return r
}

func TestDeadline(t *testing.T) {
	t.Parallel()

	longest := maxDuration / time.Millisecond * time.Millisecond
	tests := []struct {
		name    string
		timeout string
		want    time.Time
	}{
		{name: "absent", timeout: "", want: time.Time{}},
		{name: "milliseconds", timeout: "1500", want: testNow.Add(1500 * time.Millisecond)},
		{name: "one millisecond", timeout: "1", want: testNow.Add(time.Millisecond)},
		{name: "spaces", timeout: " 250 ", want: testNow.Add(250 * time.Millisecond)},
		{name: "largest int64", timeout: "9223372036854775807", want: testNow.Add(longest)},
		{name: "largest duration", timeout: "9223372036854", want: testNow.Add(longest)},
		{name: "beyond int64", timeout: "99999999999999999999999", want: testNow.Add(longest)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, p := wire.Deadline(deadlineRequest(tt.timeout), testNow)
			require.Nil(t, p, "got problem %v, want none", p)
			assert.True(t, tt.want.Equal(got), "got deadline %v, want %v", got, tt.want)
		})
	}
}

func TestDeadlineInvalid(t *testing.T) {
	t.Parallel()

	for _, timeout := range []string{"0", "-5", "-99999999999999999999999", "1.5", "1e3", "30s", "abc", "0x10"} {
		t.Run(timeout, func(t *testing.T) {
			t.Parallel()
			got, p := wire.Deadline(deadlineRequest(timeout), testNow)
			requireInvalidRequest(t, p, wire.HeaderTimeout, timeout)
			assert.True(t, got.IsZero(), "got deadline %v, want the zero time", got)
		})
	}
}

func TestFormatTimeout(t *testing.T) {
	t.Parallel()

	tests := []struct {
		left time.Duration
		want string
	}{
		{left: 1500 * time.Millisecond, want: "1500"},
		{left: 30 * time.Second, want: "30000"},
		{left: time.Millisecond, want: "1"},
		{left: 1900 * time.Microsecond, want: "1"},
		{left: time.Microsecond, want: "1"},
		{left: 0, want: "1"},
		{left: -time.Hour, want: "1"},
		{left: maxDuration, want: "9223372036854"},
	}
	for _, tt := range tests {
		got := wire.FormatTimeout(tt.left)
		assert.Equal(t, tt.want, got, "FormatTimeout(%v)", tt.left)

		// The server reads back what the client sends, to the millisecond.
		deadline, p := wire.Deadline(deadlineRequest(got), testNow)
		require.Nil(t, p, "Deadline(%q) returned problem %v", got, p)
		wantLeft := max(tt.left.Truncate(time.Millisecond), time.Millisecond)
		assert.Equal(t, wantLeft, deadline.Sub(testNow), "time left after Deadline(FormatTimeout(%v))", tt.left)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()

	longest := maxDuration / time.Second * time.Second
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{name: "absent", value: "", want: 0},
		{name: "seconds", value: "5", want: 5 * time.Second},
		{name: "spaces", value: "  5 ", want: 5 * time.Second},
		{name: "zero", value: "0", want: 0},
		{name: "negative", value: "-5", want: 0},
		{name: "fraction", value: "1.5", want: 0},
		{name: "garbage", value: "soon", want: 0},
		{name: "largest duration", value: "9223372036", want: longest},
		{name: "largest int64", value: "9223372036854775807", want: longest},
		{name: "beyond int64", value: "99999999999999999999999", want: longest},
		{name: "date in the future", value: testNow.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second},
		{name: "date in RFC 850 form", value: testNow.Add(time.Hour).Format(time.RFC850), want: time.Hour},
		{name: "date in asctime form", value: testNow.Add(time.Minute).Format(time.ANSIC), want: time.Minute},
		{name: "date now", value: testNow.Format(http.TimeFormat), want: 0},
		{name: "date in the past", value: testNow.Add(-time.Hour).Format(http.TimeFormat), want: 0},
		{name: "date far in the future", value: "Fri, 31 Dec 9999 23:59:59 GMT", want: maxDuration},
		{name: "malformed date", value: "Fri, 32 Dec 2026 25:00:00 GMT", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			assert.Equal(t, tt.want, wire.RetryAfter(h, testNow), "RetryAfter(%q)", tt.value)
		})
	}
}

func TestETag(t *testing.T) {
	t.Parallel()

	for _, version := range []uint64{0, 1, 42, 1 << 32, math.MaxUint64} {
		tag := wire.ETag(version)
		assert.True(t, strings.HasPrefix(tag, `"`) && strings.HasSuffix(tag, `"`), "ETag(%d) = %s, want a quoted string", version, tag)
		assert.Equal(t, version, wire.ParseETag(tag), "ParseETag(ETag(%d))", version)
		assert.Equal(t, version, wire.ParseETag("W/"+tag), "ParseETag of weak ETag(%d)", version)
	}
	assert.Equal(t, `"42"`, wire.ETag(42))
}

func TestParseETag(t *testing.T) {
	t.Parallel()

	tests := []struct {
		value string
		want  uint64
	}{
		{value: `"42"`, want: 42},
		{value: `W/"42"`, want: 42},
		{value: `  "42"  `, want: 42},
		{value: `42`, want: 42},
		{value: `"18446744073709551615"`, want: math.MaxUint64},
		{value: ``, want: 0},
		{value: `""`, want: 0},
		{value: `*`, want: 0},
		{value: `W/`, want: 0},
		{value: `"abc"`, want: 0},
		{value: `"-1"`, want: 0},
		{value: `"+1"`, want: 0},
		{value: `"1.5"`, want: 0},
		{value: `"1", "2"`, want: 0},
		{value: `"18446744073709551616"`, want: 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, wire.ParseETag(tt.value), "ParseETag(%q)", tt.value)
	}
}

func TestValidateIdempotencyKey(t *testing.T) {
	t.Parallel()

	for _, key := range []string{
		"",
		"k",
		"0b4f8f5c-1c7e-4b43-9d1d-5f0e2a3c4b5d",
		"order-42/retry_1.v2~!#$%&'*+^`|",
		strings.Repeat("a", wire.MaxIdempotencyKeyLength),
	} {
		assert.Nil(t, wire.ValidateIdempotencyKey(key), "ValidateIdempotencyKey(%q)", key)
	}

	tests := []struct {
		name string
		key  string
		want string // part of the detail
	}{
		{name: "one byte too long", key: strings.Repeat("a", wire.MaxIdempotencyKeyLength+1), want: "256 bytes, over the limit of 255"},
		{name: "space", key: "a b", want: "at byte 1"},
		{name: "tab", key: "\tab", want: "at byte 0"},
		{name: "NUL", key: "ab\x00", want: "at byte 2"},
		{name: "newline", key: "ab\ncd", want: "at byte 2"},
		{name: "DEL", key: "ab\x7f", want: "at byte 2"},
		{name: "non-ASCII", key: "clé", want: "at byte 2"},
		{name: "invalid UTF-8", key: "a\xff", want: "at byte 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireInvalidRequest(t, wire.ValidateIdempotencyKey(tt.key), "Idempotency-Key", tt.want)
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()

	r := httptest.NewRequest(http.MethodPost, "/jobs", nil)
	key, p := wire.IdempotencyKey(r)
	require.Nil(t, p, "no header: got problem %v, want none", p)
	assert.Empty(t, key, "key without the header")

	r.Header.Set(wire.HeaderIdempotencyKey, "order-42")
	key, p = wire.IdempotencyKey(r)
	require.Nil(t, p, "valid key: got problem %v, want none", p)
	assert.Equal(t, "order-42", key)

	r.Header.Set(wire.HeaderIdempotencyKey, "order 42")
	key, p = wire.IdempotencyKey(r)
	requireInvalidRequest(t, p, "order 42")
	assert.Empty(t, key, "key of a rejected header")

	r.Header.Set(wire.HeaderIdempotencyKey, strings.Repeat("k", 300))
	key, p = wire.IdempotencyKey(r)
	requireInvalidRequest(t, p, "300 bytes")
	assert.Empty(t, key, "key of a rejected header")
}

func TestOwner(t *testing.T) {
	t.Parallel()

	forbidden := transport.NewProblem(http.StatusForbidden, "forbidden", "tenant %s may not submit jobs", "t1")
	tests := []struct {
		name       string
		authorize  transport.AuthorizeFunc
		wantOwner  string
		wantStatus int    // 0: no problem
		wantCode   string // with wantStatus
		wantDetail string // part of the detail
	}{
		{name: "nil authorize", authorize: nil, wantOwner: ""},
		{
			name: "owner from header",
			authorize: func(r *http.Request) (string, error) {
				return r.Header.Get("X-Tenant"), nil
			},
			wantOwner: "tenant-7",
		},
		{
			name: "plain error",
			authorize: func(*http.Request) (string, error) {
				return "ignored", errNoToken
			},
			wantStatus: http.StatusUnauthorized, wantCode: transport.CodeUnauthorized, wantDetail: errNoToken.Error(),
		},
		{
			name: "problem",
			authorize: func(*http.Request) (string, error) {
				return "", forbidden
			},
			wantStatus: http.StatusForbidden, wantCode: "forbidden", wantDetail: "tenant t1",
		},
		{
			name: "wrapped problem",
			authorize: func(*http.Request) (string, error) {
				return "", fmt.Errorf("auth: %w", forbidden)
			},
			wantStatus: http.StatusForbidden, wantCode: "forbidden", wantDetail: "tenant t1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/jobs/x", nil)
			r.Header.Set("X-Tenant", "tenant-7")

			owner, p := wire.Owner(r, tt.authorize)
			if tt.wantStatus == 0 {
				require.Nil(t, p, "got problem %v, want none", p)
				assert.Equal(t, tt.wantOwner, owner, "owner")
				return
			}
			require.NotNil(t, p, "got no problem, want status %d", tt.wantStatus)
			assert.Empty(t, owner, "owner of a rejected request")
			assert.Equal(t, tt.wantStatus, p.Status, "problem status")
			assert.Equal(t, tt.wantCode, p.Code, "problem code")
			assert.Contains(t, p.Detail, tt.wantDetail, "problem detail")
			assert.NotEmpty(t, p.Title, "problem title")
			assert.NotEmpty(t, p.Type, "problem type")
		})
	}
}
