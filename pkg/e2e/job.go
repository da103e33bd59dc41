package e2e

import (
	"fmt"
	"time"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"
)

// LocalJob is the job name of runs outside Prow.
const LocalJob = "local-e2e"

// LocalJobSpec returns the job spec of a run outside Prow: a periodic job
// (no refs, so it needs no repository facts) called job, with buildID.
func LocalJobSpec(job, buildID string) *downwardapi.JobSpec {
	return &downwardapi.JobSpec{
		Type:      prowapi.PeriodicJob,
		Job:       job,
		BuildID:   buildID,
		ProwJobID: fmt.Sprintf("%s-%s", job, buildID),
	}
}

// LocalBuildID returns a build id for a local run: sortable, like Prow's
// (which are numbers growing with time).
func LocalBuildID(now time.Time) string {
	return now.UTC().Format("20060102150405")
}
