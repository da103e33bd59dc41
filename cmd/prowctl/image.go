package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobimage"
	"github.com/prowctl/prowctl/pkg/jobs"
	"github.com/prowctl/prowctl/pkg/process"
)

func newCmdImage(streams *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build the image the tf-k8s jobs run, without Docker",
	}
	cmd.AddCommand(newCmdImageBuild(streams, nil))
	return cmd
}

// ImageBuildOptions are the inputs of `prowctl image build`.
type ImageBuildOptions struct {
	IO *iostreams.IOStreams

	Spec       string
	Load       bool
	ClusterDir string
	ToolsDir   string
	CacheDir   string
	GoVersion  string
	Prowctl    string
}

func newCmdImageBuild(streams *iostreams.IOStreams, runF func(*ImageBuildOptions) error) *cobra.Command {
	opts := &ImageBuildOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "build [--spec config/tf-k8s.yaml] [--load]",
		Short: "Build the tf-k8s jobs' image: Debian, git, a Go toolchain and prowctl",
		Long: `Build makes the image the tf-k8s jobs run, under the name their spec gives
(` + "`image:`" + ` in config/tf-k8s.yaml), without Docker: Debian's root filesystem with git
and ca-certificates (mmdebstrap, from ` + "`make tools`" + `), the Go toolchain from the Go
module proxy (golang.org/toolchain, GOTOOLCHAIN=local) and this prowctl binary.
The image is kept in the cache by its content: building it again when nothing
changed writes nothing. --load puts it on the personal cluster's node, unless
the node has it already.`,
		Example: `  prowctl image build --load
  prowctl image build --go go1.26.8 --prowctl bin/prowctl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return imageBuildRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Spec, "spec", "config/tf-k8s.yaml", "the tf-k8s jobs' spec, whose image: names the image")
	cmd.Flags().BoolVar(&opts.Load, "load", false, "load the image into the personal cluster's node")
	cmd.Flags().StringVar(&opts.ClusterDir, "dir", cluster.DefaultDir(), "the cluster's state directory, for --load")
	cmd.Flags().StringVar(&opts.ToolsDir, "tools-dir", cluster.DefaultToolsDir(), "where `make tools` put the Debian root filesystem")
	cmd.Flags().StringVar(&opts.CacheDir, "cache-dir", jobimage.DefaultCacheDir(), "where built images are kept")
	cmd.Flags().StringVar(&opts.GoVersion, "go", "", "the Go toolchain's version (default: the one prowctl was built with)")
	cmd.Flags().StringVar(&opts.Prowctl, "prowctl", "", "the prowctl binary to put in the image (default: this one)")
	markPaths(cmd, "spec", "dir", "tools-dir", "cache-dir", "prowctl")
	return cmd
}

func imageBuildRun(ctx context.Context, opts *ImageBuildOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	spec, err := jobs.LoadSpec(opts.Spec)
	if err != nil {
		return err
	}
	var state *cluster.State
	if opts.Load {
		// Before the build: a missing cluster is known at once.
		if state, err = cluster.LoadState(opts.ClusterDir); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w in %s: start one with `prowctl cluster up --dir %s`", cluster.ErrNoCluster, opts.ClusterDir, opts.ClusterDir)
		} else if err != nil {
			return err
		}
	}
	bin := opts.Prowctl
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return err
		}
	}
	res, err := buildJobImage(ctx, opts.ToolsDir, opts.CacheDir, opts.GoVersion, bin, spec.Image, opts.IO.ErrOut)
	if err != nil {
		return err
	}
	how := "built"
	if res.Cached {
		how = "unchanged"
	}
	fmt.Fprintf(opts.IO.Out, "%s %s\nid: %s\narchive: %s\n", how, spec.Image, res.ID, res.Archive)
	if !opts.Load {
		return nil
	}
	loaded, err := cluster.LoadBuilt(ctx, state, process.Exec{}, res.Archive, res.ID, []string{spec.Image})
	if err != nil {
		return err
	}
	if loaded {
		fmt.Fprintf(opts.IO.Out, "loaded into the cluster in %s\n", opts.ClusterDir)
	} else {
		fmt.Fprintf(opts.IO.Out, "the cluster in %s has it already\n", opts.ClusterDir)
	}
	return nil
}

// buildJobImage builds the jobs' image called name from the tools' Debian
// root filesystem and the prowctl binary bin.
func buildJobImage(ctx context.Context, toolsDir, cacheDir, goVersion, bin, name string, log io.Writer) (jobimage.Result, error) {
	rootfs, err := cluster.Debian.Path(toolsDir, "rootfs.tar")
	if err != nil {
		return jobimage.Result{}, err
	}
	return jobimage.Build(ctx, jobimage.Options{
		Names: []string{name}, Rootfs: rootfs, GoVersion: goVersion, Prowctl: bin,
		CacheDir: cacheDir, Runner: process.Exec{}, Log: log,
	})
}
