package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/process"
	"github.com/prowctl/prowctl/pkg/redact"
)

// OpenOptions are the flags of `prowctl open`.
type OpenOptions struct {
	IO        *iostreams.IOStreams
	Name      string
	NoBrowser bool
	Cluster   pjClusterFlags

	// Runner runs the desktop's opener; Getenv and LookPath say whether
	// there is a desktop to open in.
	Runner   process.Runner
	Getenv   func(string) string
	LookPath func(string) (string, error)
}

func newCmdOpen(f *Factory, runF func(context.Context, *OpenOptions) error) *cobra.Command {
	o := &OpenOptions{IO: f.IO, Runner: process.Exec{}, Getenv: os.Getenv, LookPath: process.LookPath}
	if runF == nil {
		runF = runOpen
	}
	cmd := &cobra.Command{
		Use:   "open [NAME] [--no-browser]",
		Short: "Print, and open in a browser, the cluster's Deck or a ProwJob's page in it",
		Long: `open prints the address of the personal cluster's Deck (Prow's UI), or with NAME
the page of that ProwJob: its Spyglass view once plank has started it, until
then Deck's job list filtered to its job. Where a desktop is available
($DISPLAY or $WAYLAND_DISPLAY, and xdg-open) it also opens it there.

The cluster's kubeconfig records Deck's address (prowctl cluster up writes it);
on any other cluster open still prints a job's status.url.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Name = args[0]
			}
			return runF(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.NoBrowser, "no-browser", false, "only print the address")
	o.Cluster.add(cmd, f)
	cmd.ValidArgsFunction = o.Cluster.completeProwJobNames
	return cmd
}

func runOpen(ctx context.Context, o *OpenOptions) error {
	c, err := o.Cluster.client(ctx)
	if err != nil {
		return err
	}
	var target string
	if o.Name == "" {
		if c.DeckURL == "" {
			return fmt.Errorf("context %s records no Deck: it is not a personal cluster of prowctl cluster up, or one made with --no-deck", c.Context)
		}
		target = c.DeckURL
	} else {
		pj, err := c.Get(ctx, o.Name)
		if err != nil {
			return err
		}
		if target = c.JobURL(pj); target == "" {
			return fmt.Errorf("ProwJob %s has no status.url yet and context %s records no Deck", o.Name, c.Context)
		}
	}
	fmt.Fprintln(o.IO.Out, redact.String(target))
	if o.NoBrowser {
		return nil
	}
	if err := openInBrowser(ctx, o, target); err != nil {
		// The address is printed: not opening it is no failure.
		fmt.Fprintf(o.IO.ErrOut, "not opened in a browser: %v\n", err)
	}
	return nil
}

// openInBrowser hands target to the desktop's opener, when there is one
// ($DISPLAY or $WAYLAND_DISPLAY, and xdg-open).
func openInBrowser(ctx context.Context, o *OpenOptions, target string) error {
	// status.url is anyone's to set: hand the opener nothing but a web
	// address (not file: or a command of some handler).
	if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%s is not an http(s) address", redact.String(target))
	}
	// No desktop (a server, a container, ssh) is the usual case, not an
	// error: the address is printed.
	if o.Getenv("DISPLAY") == "" && o.Getenv("WAYLAND_DISPLAY") == "" {
		return nil
	}
	opener, err := o.LookPath("xdg-open")
	if err != nil {
		return nil
	}
	// xdg-open hands over to the browser and returns; one that hangs is
	// not waited for long.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return o.Runner.Run(ctx, process.Cmd{Name: opener, Args: []string{target}})
}
