package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

const prowJobCRD = "prowjobs.prow.k8s.io"

// readProwJobCRD reads the ProwJob CRD that `make tools` copied from the
// pinned Prow module and drops the descriptions from its schema.
//
// The descriptions (mostly Kubernetes' own pod spec documentation) are three
// quarters of its 3.9 MB; the API server re-processes the whole object on
// every status change, and with them it took 30-50 s instead of 10-15 s to
// accept the CRD on a busy 2-core machine. Validation is unchanged: types,
// enums, required fields and patterns stay. Only `kubectl explain` loses its
// text.
func readProwJobCRD(toolsDir string) (*apiextensionsv1.CustomResourceDefinition, error) {
	path, err := Prow.Path(toolsDir, ProwJobCRDFile)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(b, &crd); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if crd.Name != prowJobCRD {
		return nil, fmt.Errorf("%s: CRD %q, want %s", path, crd.Name, prowJobCRD)
	}
	for i := range crd.Spec.Versions {
		if v := crd.Spec.Versions[i].Schema; v != nil {
			stripDescriptions(v.OpenAPIV3Schema)
		}
	}
	return &crd, nil
}

func stripDescriptions(s *apiextensionsv1.JSONSchemaProps) {
	if s == nil {
		return
	}
	s.Description = ""
	each := func(m map[string]apiextensionsv1.JSONSchemaProps) {
		for k, v := range m {
			stripDescriptions(&v)
			m[k] = v
		}
	}
	list := func(l []apiextensionsv1.JSONSchemaProps) {
		for i := range l {
			stripDescriptions(&l[i])
		}
	}
	each(s.Properties)
	each(s.PatternProperties)
	each(s.Definitions)
	list(s.AllOf)
	list(s.AnyOf)
	list(s.OneOf)
	stripDescriptions(s.Not)
	if s.Items != nil {
		stripDescriptions(s.Items.Schema)
		list(s.Items.JSONSchemas)
	}
	if s.AdditionalProperties != nil {
		stripDescriptions(s.AdditionalProperties.Schema)
	}
	if s.AdditionalItems != nil {
		stripDescriptions(s.AdditionalItems.Schema)
	}
	for k, d := range s.Dependencies {
		stripDescriptions(d.Schema)
		s.Dependencies[k] = d
	}
}

// aggregatedDiscoveryHasProwJobs checks the discovery document newer clients
// read in one request: prow.k8s.io/v1 must be listed as current, with
// prowjobs.
func aggregatedDiscoveryHasProwJobs(ctx context.Context, client *http.Client, host string) error {
	body, err := httpGetAccept(ctx, client, host+"/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
	if err != nil {
		return err
	}
	var doc struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Versions []struct {
				Version   string `json:"version"`
				Freshness string `json:"freshness"`
				Resources []struct {
					Resource string `json:"resource"`
				} `json:"resources"`
			} `json:"versions"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return fmt.Errorf("aggregated discovery: %w", err)
	}
	for _, g := range doc.Items {
		if g.Metadata.Name != "prow.k8s.io" {
			continue
		}
		for _, v := range g.Versions {
			if v.Version != "v1" || (v.Freshness != "" && v.Freshness != "Current") {
				continue
			}
			for _, r := range v.Resources {
				if r.Resource == "prowjobs" {
					return nil
				}
			}
		}
	}
	return errors.New("ProwJobs are not in aggregated discovery yet")
}

func installProwJobCRD(ctx context.Context, e *Env) error {
	crd, err := readProwJobCRD(e.ToolsDir)
	if err != nil {
		return err
	}
	cfg, err := e.Rest()
	if err != nil {
		return err
	}
	client, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// Create, not client-side apply: the last-applied annotation of an
	// object this size is over the annotation size limit.
	_, err = client.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create the ProwJob CRD: %w", err)
	}
	return nil
}

// prowJobCRDEstablished checks that ProwJobs are served and discovered, and
// the CRD is Established. The first check is a cheap list; only once it passes is the
// CRD itself, over a megabyte, fetched: polling it from the start slowed the
// API server down.
func prowJobCRDEstablished(ctx context.Context, e *Env) error {
	cfg, err := e.Rest()
	if err != nil {
		return err
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	if _, err := httpGet(ctx, client, cfg.Host+"/apis/prow.k8s.io/v1/prowjobs?limit=1"); err != nil {
		return errors.New("ProwJobs are not served yet")
	}
	// Discovery is published on its own, a little later; plank's REST
	// mapper reads it at start and exits when prow.k8s.io/v1 is missing.
	body, err := httpGet(ctx, client, cfg.Host+"/apis/prow.k8s.io/v1")
	if err != nil || !strings.Contains(body, `"name":"prowjobs"`) {
		return errors.New("ProwJobs are not in discovery yet")
	}
	if err := aggregatedDiscoveryHasProwJobs(ctx, client, cfg.Host); err != nil {
		return err
	}
	ext, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		return err
	}
	crd, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, prowJobCRD, metav1.GetOptions{})
	if err != nil {
		return err
	}
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return nil
		}
	}
	return errors.New("the ProwJob CRD is not Established yet")
}
