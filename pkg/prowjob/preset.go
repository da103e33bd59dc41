package prowjob

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	cm, err := c.Kube.CoreV1().ConfigMaps(metav1.NamespacePublic).Get(ctx, jobpreset.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the cluster's job preset (kube-public/%s): %w", jobpreset.Name, err)
	}
	var p jobpreset.Preset
	if err := json.Unmarshal([]byte(cm.Data[jobpreset.Key]), &p); err != nil {
		return nil, fmt.Errorf("kube-public/%s: %s: %w", jobpreset.Name, jobpreset.Key, err)
	}
	return &p, nil
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
