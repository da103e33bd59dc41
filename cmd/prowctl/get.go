package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

// GetOptions are the flags of `prowctl get`.
type GetOptions struct {
	IO       *iostreams.IOStreams
	Name     string
	Selector string
	Output   string
	Watch    bool
	// Timeout applies to --watch.
	Timeout time.Duration
	Cluster pjClusterFlags
	now     func() time.Time
}

func newCmdGet(f *Factory, runF func(context.Context, *GetOptions) error) *cobra.Command {
	o := &GetOptions{IO: f.IO, now: f.Now}
	if runF == nil {
		runF = runGet
	}
	cmd := &cobra.Command{
		Use:   "get [NAME | -l SELECTOR] [-o yaml|json] [-w]",
		Short: "List ProwJobs, or show one",
		Long: `get prints the ProwJobs of the namespace as a table (name, job, type, state,
age, duration), oldest first, or those a label selector selects (-l
prowctl.dev/rehearsal=true: the rehearsals), or one ProwJob; -o yaml|json prints the objects.
get -w NAME is prowctl watch NAME.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Name = args[0]
			}
			return runF(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: yaml or json (default a table)")
	cmd.Flags().StringVarP(&o.Selector, "selector", "l", "", "label selector, as kubectl's (key=value,key!=value,key in (a,b))")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "follow the ProwJob NAME to its end (see prowctl watch)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 0, "with -w, give up after this long and exit 2")
	_ = cmd.RegisterFlagCompletionFunc("output", pjCompleteOutput)
	o.Cluster.add(cmd, f)
	cmd.ValidArgsFunction = o.Cluster.completeProwJobNames
	return cmd
}

func runGet(ctx context.Context, o *GetOptions) error {
	if err := pjCheckOutput(o.Output); err != nil {
		return err
	}
	if o.Name != "" && o.Selector != "" {
		return usageErrorf("get NAME and -l: choose one")
	}
	if _, err := labels.Parse(o.Selector); err != nil {
		return usageErrorf("-l %s: %v", o.Selector, err)
	}
	if o.Watch {
		if o.Name == "" {
			return usageErrorf("get -w needs a ProwJob NAME")
		}
		if o.Output != "" {
			return usageErrorf("get -w prints state changes: drop -o")
		}
		return runWatch(ctx, &WatchOptions{IO: o.IO, Name: o.Name, Timeout: o.Timeout, Cluster: o.Cluster})
	}
	c, err := o.Cluster.client(ctx)
	if err != nil {
		return err
	}
	var pjs []prowapi.ProwJob
	if o.Name != "" {
		pj, err := c.Get(ctx, o.Name)
		if err != nil {
			return err
		}
		pjs = []prowapi.ProwJob{*pj}
	} else if pjs, err = c.ListSelected(ctx, o.Selector); err != nil {
		return err
	}
	if o.Output != "" {
		return prowjob.PrintObjects(o.IO.Out, pjs, o.Name != "", o.Output)
	}
	if len(pjs) == 0 {
		if o.Selector != "" {
			fmt.Fprintf(o.IO.ErrOut, "No ProwJobs in namespace %s match %s.\n", c.Namespace, o.Selector)
			return nil
		}
		fmt.Fprintf(o.IO.ErrOut, "No ProwJobs in namespace %s.\n", c.Namespace)
		return nil
	}
	return prowjob.PrintTable(o.IO.Out, pjs, o.now())
}
