package prowjob

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/printer"
	"github.com/prowctl/prowctl/pkg/redact"
)

func sortByStart(pjs []prowapi.ProwJob) {
	sort.SliceStable(pjs, func(i, j int) bool {
		a, b := pjs[i].Status.StartTime.Time, pjs[j].Status.StartTime.Time
		if !a.Equal(b) {
			return a.Before(b)
		}
		return pjs[i].Name < pjs[j].Name
	})
}

// PrintTable writes pjs as `kubectl get` does: NAME JOB TYPE STATE AGE
// DURATION. Duration runs to now for unfinished jobs.
func PrintTable(w io.Writer, pjs []prowapi.ProwJob, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tJOB\tTYPE\tSTATE\tAGE\tDURATION")
	for _, pj := range pjs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", pj.Name, pj.Spec.Job, pj.Spec.Type, pj.Status.State, age(pj, now), runTime(pj, now))
	}
	return tw.Flush()
}

func age(pj prowapi.ProwJob, now time.Time) string {
	t := pj.CreationTimestamp.Time
	if t.IsZero() {
		t = pj.Status.StartTime.Time
	}
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

func runTime(pj prowapi.ProwJob, now time.Time) string {
	start := pj.Status.StartTime.Time
	if start.IsZero() {
		return ""
	}
	end := now
	if pj.Status.CompletionTime != nil {
		end = pj.Status.CompletionTime.Time
	}
	return duration.HumanDuration(end.Sub(start))
}

// PrintObjects writes one ProwJob as itself and several as a v1 List, in
// "yaml" or "json", as kubectl does.
func PrintObjects(w io.Writer, pjs []prowapi.ProwJob, single bool, format string) error {
	// Like kubectl, leave out managedFields: server bookkeeping, and noise.
	items := make([]prowapi.ProwJob, len(pjs))
	for i := range pjs {
		items[i] = *pjs[i].DeepCopy()
		items[i].ManagedFields = nil
	}
	var obj any
	if single && len(items) == 1 {
		obj = &items[0]
	} else {
		obj = map[string]any{"apiVersion": "v1", "kind": "List", "items": items, "metadata": map[string]any{}}
	}
	return printer.Print(w, obj, format)
}

// StateLine is how watch prints a job's state: the time it entered the
// state, the state, the pod and the URL where its logs show (credentials
// in it redacted).
func StateLine(pj *prowapi.ProwJob, now time.Time) string {
	t := now
	switch {
	case Final(pj.Status.State) && pj.Status.CompletionTime != nil:
		t = pj.Status.CompletionTime.Time
	case pj.Status.State == prowapi.PendingState && pj.Status.PendingTime != nil:
		t = pj.Status.PendingTime.Time
	case (pj.Status.State == prowapi.TriggeredState || pj.Status.State == prowapi.SchedulingState) && !pj.Status.StartTime.IsZero():
		t = pj.Status.StartTime.Time
	}
	line := fmt.Sprintf("%s  %-9s", t.Local().Format("15:04:05"), pj.Status.State)
	if pj.Status.PodName != "" {
		line += "  pod " + pj.Status.PodName
	}
	if pj.Status.URL != "" {
		line += "  " + redact.String(pj.Status.URL)
	}
	if Final(pj.Status.State) && pj.Status.Description != "" {
		line += "  (" + pj.Status.Description + ")"
	}
	return line
}
