package jobs_test

import (
	"testing"

	"github.com/longhaul-go/longhaul/transport/jobs"
	"github.com/longhaul-go/longhaul/transport/jobs/jobstest"
)

func TestMemoryStore(t *testing.T) {
	jobstest.TestStore(t, func(*testing.T) jobs.Store { return jobs.NewMemoryStore() })
}
