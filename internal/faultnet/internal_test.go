package faultnet

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestProxy returns a proxy that forwards to an address nothing dials in
// these tests, for white-box checks of its fault state.
func newTestProxy(t *testing.T, seed uint64) *Proxy {
	t.Helper()
	p, err := New(Config{Target: "127.0.0.1:9", Seed: seed})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return p
}

func drawDelays(p *Proxy, count int) []time.Duration {
	delays := make([]time.Duration, count)
	for i := range delays {
		delays[i] = p.nextDelay()
	}
	return delays
}

func TestNextDelaySameSeedSameSequence(t *testing.T) {
	t.Parallel()
	first, second := newTestProxy(t, 42), newTestProxy(t, 42)
	first.SetLatency(10*time.Millisecond, 5*time.Millisecond)
	second.SetLatency(10*time.Millisecond, 5*time.Millisecond)

	got, want := drawDelays(first, 100), drawDelays(second, 100)

	assert.Equal(t, want, got)
}

func TestNextDelayOtherSeedOtherSequence(t *testing.T) {
	t.Parallel()
	first, second := newTestProxy(t, 1), newTestProxy(t, 2)
	first.SetLatency(0, time.Second)
	second.SetLatency(0, time.Second)

	got, other := drawDelays(first, 100), drawDelays(second, 100)

	assert.NotEqual(t, other, got)
}

func TestNextDelayStaysWithinLatencyPlusJitter(t *testing.T) {
	t.Parallel()
	const (
		latency = 20 * time.Millisecond
		jitter  = 10 * time.Millisecond
	)
	p := newTestProxy(t, 7)
	p.SetLatency(latency, jitter)

	distinct := make(map[time.Duration]bool)
	for i, delay := range drawDelays(p, 1000) {
		assert.GreaterOrEqual(t, delay, latency, "draw %d", i)
		assert.Less(t, delay, latency+jitter, "draw %d", i)
		distinct[delay] = true
	}
	assert.Greater(t, len(distinct), 900, "jitter draws should rarely repeat")
}

func TestNextDelayWithoutJitterIsLatency(t *testing.T) {
	t.Parallel()
	p := newTestProxy(t, 7)
	p.SetLatency(30*time.Millisecond, 0)

	for i, delay := range drawDelays(p, 10) {
		assert.Equal(t, 30*time.Millisecond, delay, "draw %d", i)
	}
}

func TestAdmitCutAfterLimitSpansDirections(t *testing.T) {
	t.Parallel()
	p := newTestProxy(t, 0)
	p.CutAfter(100)
	l := p.register(nil)
	require.NotNil(t, l)
	defer p.unregister(l)

	tests := []struct {
		n           int
		wantAllowed int
		wantReason  string
	}{
		{60, 60, ""},
		{30, 30, ""},
		{30, 10, reasonCutAfter},
	}
	for i, tt := range tests {
		allowed, reason := l.admit(tt.n)
		assert.Equal(t, tt.wantAllowed, allowed, "admit %d: allowed", i)
		assert.Equal(t, tt.wantReason, reason, "admit %d: reason", i)
	}
}

func TestAdmitCutOnceFiresOnce(t *testing.T) {
	t.Parallel()
	p := newTestProxy(t, 0)
	first, second := p.register(nil), p.register(nil)
	defer p.unregister(first)
	defer p.unregister(second)
	_, _ = first.admit(500) // counted before the arming
	p.CutOnce(50)

	allowed, reason := first.admit(40)
	assert.Equal(t, 40, allowed)
	assert.Empty(t, reason)
	allowed, reason = second.admit(80)
	assert.Equal(t, 50, allowed, "second reaches 50 bytes first")
	assert.Equal(t, reasonCutOnce, reason)
	allowed, reason = first.admit(80)
	assert.Equal(t, 80, allowed, "the cut has fired, so first passes")
	assert.Empty(t, reason)
}
