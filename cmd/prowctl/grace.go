package main

import (
	"time"

	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"

	"github.com/prowctl/prowctl/pkg/e2e"
)

// Graces that commands running finalizers on purpose ask of the root's
// watchdog (shutdown.Hold); every other command stops within
// shutdown.DefaultGrace of a signal.
const (
	// graceMargin is left on top of a library's own bound, for it to
	// notice its deadline and return.
	graceMargin = 5 * time.Second
	// clusterCleanupGrace covers `cluster up` stopping what it started:
	// each component gets pkg/cluster's default StopGrace of 10s.
	clusterCleanupGrace = 10*time.Second + graceMargin
)

// e2eGrace is how long `e2e run` may take after a signal: its finalizers'
// grace (the flag, else pkg/e2e's default for the job of $JOB_SPEC) and the
// margin.
func e2eGrace(flag time.Duration) time.Duration {
	if flag > 0 {
		return flag + graceMargin
	}
	job := &downwardapi.JobSpec{}
	if spec, err := downwardapi.ResolveSpecFromEnv(); err == nil {
		job = spec
	}
	return e2e.GracePeriod(job) + graceMargin
}
