package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/printer"
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

	// Connect reaches the cluster (the Factory's; a fake in tests).
	Connect func(context.Context, prowjob.ConnectOptions) (*prowjob.Client, error)
}

func (f *pjClusterFlags) add(cmd *cobra.Command, fac *Factory) {
	f.Connect = fac.Connect
	fs := cmd.Flags()
	fs.StringVar(&f.Kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&f.Context, "context", "", "kubeconfig context (default its current context)")
	fs.StringVarP(&f.Namespace, "namespace", "n", "", "namespace of the ProwJobs (default the Prow config's prowjob_namespace)")
	if fs.Lookup("config-path") == nil {
		fs.StringVar(&f.ConfigPath, "config-path", pjDefaultConfigPath, "Prow config file")
	}
	markPaths(cmd, "kubeconfig", "config-path")
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
	return f.Connect(ctx, o)
}

// completeProwJobNames completes ProwJob names from the cluster.
// client connects to the cluster of the flags, with the ProwJob namespace
// of the Prow config when --namespace is not given.
func (f *pjClusterFlags) client(ctx context.Context) (*prowjob.Client, error) {
	cfg, err := f.prowConfig()
	if err != nil {
		return nil, err
	}
	return f.connect(ctx, cfg, 0)
}

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

func pjCheckOutput(o string) error { return asUsage(printer.Check(o)) }

func pjCompleteOutput(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return []string{"yaml", "json"}, cobra.ShellCompDirectiveNoFileComp
}
