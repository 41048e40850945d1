package polling

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// FuzzStatusDocument feeds untrusted status documents through the client's
// decode path: readStatus (wire.DecodeStatus and the job ID check), then
// outcome for finished jobs. It must never panic, and what it accepts must
// make sense to a caller.
func FuzzStatusDocument(f *testing.F) {
	const id = "0123456789abcdef0123456789abcdef"
	f.Add([]byte(`{"id":"` + id + `","state":"succeeded","progress":{"done":2,"total":2},"result":{"sum":3}}`))
	f.Add([]byte(`{"id":"` + id + `","state":"failed","problem":{"type":"x","code":"job-failed","detail":"boom"}}`))
	f.Add([]byte(`{"id":"` + id + `","state":"failed","problem":{}}`))
	f.Add([]byte(`{"id":"` + id + `","state":"canceled"}`))
	f.Add([]byte(`{"id":"` + id + `","state":"running","progress":{"done":-1,"total":-5}}`))
	f.Add([]byte(`{"id":"` + id + `","state":"succeeded","result":"not a sum"}`))
	f.Add([]byte(`{"id":"` + id + `","state":"succeeded","result":null}`))
	f.Add([]byte(`{"id":"../../run","state":"queued"}`))
	f.Add([]byte(`{"id":"` + id + `","state":"exploded"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))

	f.Fuzz(func(t *testing.T, body []byte) {
		for _, want := range []string{"", id} {
			resp := &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(body))}
			st, err := readStatus(resp, want)
			if err != nil {
				var jobErr *transport.JobError
				if !errors.As(err, &jobErr) {
					t.Fatalf("readStatus error %v is %T, want *transport.JobError", err, err)
				}
				if jobErr.JobID != want {
					t.Fatalf("readStatus error names job %q, want %q", jobErr.JobID, want)
				}
				continue
			}

			if !jobs.ValidID(st.ID) {
				t.Fatalf("accepted status with invalid job ID %q", st.ID)
			}
			if want != "" && st.ID != want {
				t.Fatalf("accepted status of job %q for a request of job %q", st.ID, want)
			}
			if !st.State.Finished() {
				continue
			}
			checkOutcome(t, st.ID, st.State, body)
		}
	})
}

func checkOutcome(t *testing.T, id string, state jobs.State, body []byte) {
	resp := &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(body))}
	st, err := readStatus(resp, id)
	if err != nil {
		t.Fatalf("status read once fails on the second read: %v", err)
	}

	_, err = outcome[sumResult](st)
	var jobErr *transport.JobError
	isJobErr := errors.As(err, &jobErr)
	switch state {
	case jobs.StateSucceeded:
		if isJobErr {
			t.Fatalf("succeeded job returned *transport.JobError %v", err)
		}
	default:
		if !isJobErr {
			t.Fatalf("%s job returned %v (%T), want *transport.JobError", state, err, err)
		}
		if jobErr.JobID != id {
			t.Fatalf("JobError names job %q, want %q", jobErr.JobID, id)
		}
		if jobErr.Problem.Code == "" || jobErr.Problem.Type == "" || jobErr.Problem.Title == "" {
			t.Fatalf("JobError problem %+v lacks code, type or title", jobErr.Problem)
		}
		if state == jobs.StateCanceled && st.Problem == nil && jobErr.Problem.Code != transport.CodeJobCanceled {
			t.Fatalf("canceled job without a problem returned code %q, want %q", jobErr.Problem.Code, transport.CodeJobCanceled)
		}
	}
}
