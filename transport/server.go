package transport

import "net/http"

// AuthorizeFunc returns the owner of a request to a longhaul server. Jobs are
// scoped to their owner: another owner's status request, cancel or resume gets
// not-found, as if the job did not exist. An error rejects the request with 401,
// unless it wraps a *Problem, which is sent instead.
type AuthorizeFunc func(r *http.Request) (owner string, err error)
