package callback

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestZeroReceiverRespondsGone(t *testing.T) {
	var r Receiver
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/callbacks?"+callParam+"=x", strings.NewReader(`{}`))

	r.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusGone, rec.Code)
}
