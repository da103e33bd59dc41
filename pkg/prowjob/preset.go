package prowjob

import (
	"context"
	"strings"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/jobpreset"
)

// clusterPreset is the preset the cluster publishes; nil when it publishes
// none (any cluster but the personal one), or hides it from us.
func (c *Client) clusterPreset(ctx context.Context) (*jobpreset.Preset, error) {
	if c.Kube == nil {
		return nil, nil
	}
	ctx, cancel := c.requestContext(ctx)
	defer cancel()
	return jobpreset.Read(ctx, c.Kube)
}

// addClusterPreset adds the cluster's preset to the pod of a Kubernetes
// job and says what it added ("" for nothing).
func (c *Client) addClusterPreset(ctx context.Context, pj *prowapi.ProwJob) (string, error) {
	if pj.Spec.PodSpec == nil || (pj.Spec.Agent != "" && pj.Spec.Agent != prowapi.KubernetesAgent) {
		return "", nil
	}
	p, err := c.clusterPreset(ctx)
	if err != nil || p == nil {
		return "", err
	}
	return strings.Join(p.Apply(pj.Spec.PodSpec), ", "), nil
}
