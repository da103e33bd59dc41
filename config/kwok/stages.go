// Package kwok holds the stage configuration of the personal Prow cluster's
// simulated node, embedded so prowctl needs no checkout at run time.
package kwok

import _ "embed"

// Stages is the kwok Stage configuration (see stages.yaml for what it does).
//
//go:embed stages.yaml
var Stages []byte

// FailureLabel on a pod made by Prow makes the simulated node fail it with exit
// code 1. Plank copies a ProwJob's labels onto its pod, so a job config asks for
// a failure by carrying this label with the value FailureValue.
const (
	FailureLabel = "prowctl.dev/simulate-result"
	FailureValue = "failure"
	// DurationAnnotation sets how long Prow's pods run before they finish,
	// as a Go duration ("30s"); one second when absent.
	DurationAnnotation = "prowctl.dev/simulate-duration"
)
