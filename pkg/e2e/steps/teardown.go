package steps

import (
	"context"
	"errors"
	"fmt"

	"github.com/prowctl/prowctl/pkg/e2e"
)

// teardownSettings: `uses: teardown` (give it `always: true`).
type teardownSettings struct {
	// Cluster false keeps the cluster: only the deployment is removed. By
	// default teardown also deletes the cluster if the run created it.
	Cluster *bool `yaml:"cluster"`
}

type teardownStep struct {
	teardownSettings
	deps Deps
}

// Run uninstalls the release, deletes the CRDs and the namespace the deploy
// created, then deletes the cluster if the run created it. Each part is
// recorded as done in the state, so teardown can run again (after a crash,
// by hand) and only does what is left.
func (t *teardownStep) Run(ctx context.Context, env *e2e.Env) error {
	var did []string
	msg, undeployErr := undeploy(ctx, env)
	if msg != "" {
		did = append(did, msg)
	}
	// The cluster goes even when undeploying failed: a leaked cluster costs
	// more than a leaked release in a cluster that is deleted anyway.
	var downErr error
	if t.Cluster == nil || *t.Cluster {
		msg, downErr = clusterDown(ctx, env, t.deps)
		if msg != "" {
			did = append(did, msg)
		}
	}
	if undeployErr != nil && downErr == nil && len(did) > 0 && msg != "" {
		// The cluster, and the release in it, are gone.
		fmt.Fprintf(env.Log, "ignoring, the cluster is deleted: %v\n", undeployErr)
		undeployErr = forgetDeploy(env.State)
	}
	for _, d := range did {
		fmt.Fprintln(env.Log, d)
	}
	if err := errors.Join(undeployErr, downErr); err != nil {
		return err
	}
	if len(did) == 0 {
		return e2e.Skip("nothing of this run to tear down")
	}
	return nil
}
