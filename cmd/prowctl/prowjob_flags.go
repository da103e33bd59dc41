package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

const (
	pjDefaultConfigPath    = "config/prow/config.yaml"
	pjDefaultJobConfigPath = "config/jobs"
)

// pjClusterFlags are the flags of every command that talks to the cluster.
type pjClusterFlags struct {
	Kubeconfig string
	Context    string
	Namespace  string
	// ConfigPath is the Prow config whose prowjob_namespace is the default
	// namespace.
	ConfigPath        string
	configPathChanged bool
}

func (f *pjClusterFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.Kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&f.Context, "context", "", "kubeconfig context (default its current context)")
	fs.StringVarP(&f.Namespace, "namespace", "n", "", "namespace of the ProwJobs (default the Prow config's prowjob_namespace)")
	if fs.Lookup("config-path") == nil {
		fs.StringVar(&f.ConfigPath, "config-path", pjDefaultConfigPath, "Prow config file")
	}
	cmd.PreRun = pjChainPreRun(cmd.PreRun, func(cmd *cobra.Command, _ []string) {
		f.configPathChanged = cmd.Flags().Changed("config-path")
	})
}

func pjChainPreRun(a, b func(*cobra.Command, []string)) func(*cobra.Command, []string) {
	return func(cmd *cobra.Command, args []string) {
		if a != nil {
			a(cmd, args)
		}
		b(cmd, args)
	}
}

// prowConfig loads the Prow config; a default path that does not exist
// (prowctl run outside a config checkout) is no config, not an error.
func (f *pjClusterFlags) prowConfig() (*config.Config, error) {
	if f.ConfigPath == "" {
		return nil, nil
	}
	if _, err := os.Stat(f.ConfigPath); errors.Is(err, fs.ErrNotExist) && !f.configPathChanged {
		return nil, nil
	}
	return mkpj.LoadProwConfig(f.ConfigPath)
}

// connect connects to the cluster; the Prow config, when given, supplies the
// default namespace.
func (f *pjClusterFlags) connect(ctx context.Context, c *config.Config, timeout time.Duration) (*prowjob.Client, error) {
	o := prowjob.ConnectOptions{Kubeconfig: f.Kubeconfig, Context: f.Context, Namespace: f.Namespace, Timeout: timeout}
	if c != nil {
		o.DefaultNamespace = c.ProwJobNamespace
	}
	return prowjob.Connect(ctx, o)
}

// completeProwJobNames completes ProwJob names from the cluster.
func (f *pjClusterFlags) completeProwJobNames(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	f.configPathChanged = cmd.Flags().Changed("config-path")
	cfg, _ := f.prowConfig()
	ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
	defer cancel()
	c, err := f.connect(ctx, cfg, 2*time.Second)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	pjs, err := c.List(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	var out []string
	for _, pj := range pjs {
		if strings.HasPrefix(pj.Name, toComplete) {
			out = append(out, pj.Name+"\t"+pj.Spec.Job+" ("+string(pj.Status.State)+")")
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// pjWaitFlags are --wait, --report and --timeout of the commands that create.
type pjWaitFlags struct {
	Wait    bool
	Report  bool
	Timeout time.Duration
}

func (f *pjWaitFlags) add(fs *pflag.FlagSet) {
	fs.BoolVar(&f.Wait, "wait", false, "follow the job to its end: exit 0 on success, 1 on failure, aborted or error, 2 on --timeout")
	fs.BoolVar(&f.Report, "report", false, "let the job report its status to GitHub (default: spec.report is set to false)")
	fs.DurationVar(&f.Timeout, "timeout", 0, "with --wait, give up after this long and exit 2 (default: no limit)")
}

func pjCheckOutput(o string) error {
	switch o {
	case "", "yaml", "json":
		return nil
	}
	return fmt.Errorf("-o %s: use yaml or json", o)
}

func pjCompleteOutput(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return []string{"yaml", "json"}, cobra.ShellCompDirectiveNoFileComp
}

// interruptible runs run with a context cancelled on SIGINT or SIGTERM and
// says "interrupted" when that is why it failed. Prow's interrupts package,
// linked in with its config loader, catches the first of these signals and
// only logs it: without a handler of our own, Ctrl-C would not stop a watch.
func interruptible[O any](parent context.Context, o O, run func(context.Context, O) error) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, o)
	if err != nil && ctx.Err() != nil && parent.Err() == nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	return err
}
