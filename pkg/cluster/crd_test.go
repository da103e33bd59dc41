package cluster

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

func TestAggregatedDiscoveryHasProwJobs(t *testing.T) {
	tests := []struct {
		name, doc string
		wantErr   bool
	}{
		{"current", `{"items":[{"metadata":{"name":"prow.k8s.io"},"versions":[{"version":"v1","freshness":"Current","resources":[{"resource":"prowjobs"}]}]}]}`, false},
		{"no freshness", `{"items":[{"metadata":{"name":"prow.k8s.io"},"versions":[{"version":"v1","resources":[{"resource":"prowjobs"}]}]}]}`, false},
		{"stale", `{"items":[{"metadata":{"name":"prow.k8s.io"},"versions":[{"version":"v1","freshness":"Stale","resources":[{"resource":"prowjobs"}]}]}]}`, true},
		{"missing", `{"items":[{"metadata":{"name":"apps"},"versions":[{"version":"v1","resources":[{"resource":"deployments"}]}]}]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/apis" || !strings.Contains(r.Header.Get("Accept"), "as=APIGroupDiscoveryList") {
					http.Error(w, "want the aggregated /apis", http.StatusBadRequest)
					return
				}
				w.Write([]byte(tt.doc))
			}))
			defer srv.Close()
			err := aggregatedDiscoveryHasProwJobs(context.Background(), srv.Client(), srv.URL)
			if (err != nil) != tt.wantErr {
				t.Errorf("got %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestStripDescriptions(t *testing.T) {
	s := &apiextensionsv1.JSONSchemaProps{
		Description: "top",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"spec": {Description: "spec", Type: "object", Items: &apiextensionsv1.JSONSchemaPropsOrArray{
				Schema: &apiextensionsv1.JSONSchemaProps{Description: "item", Enum: []apiextensionsv1.JSON{{Raw: []byte(`"a"`)}}},
			}},
		},
		AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Schema: &apiextensionsv1.JSONSchemaProps{Description: "more"}},
	}
	stripDescriptions(s)
	spec := s.Properties["spec"]
	if s.Description != "" || spec.Description != "" || spec.Items.Schema.Description != "" || s.AdditionalProperties.Schema.Description != "" {
		t.Errorf("descriptions left: %q %q %q %q", s.Description, spec.Description, spec.Items.Schema.Description, s.AdditionalProperties.Schema.Description)
	}
	if spec.Type != "object" || len(spec.Items.Schema.Enum) != 1 {
		t.Error("stripping descriptions changed the validation")
	}
}
