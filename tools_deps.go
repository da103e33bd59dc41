//go:build deps

// This file pins the project's direct dependencies in go.mod before every
// package that uses them exists; `go build -tags deps` compiles it.
package main

import (
	_ "github.com/fsouza/fake-gcs-server/fakestorage"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/google/go-containerregistry/pkg/authn"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/spf13/cobra"
	_ "gopkg.in/yaml.v3"
	_ "helm.sh/helm/v3/pkg/action"
	_ "helm.sh/helm/v3/pkg/registry"
	_ "k8s.io/client-go/tools/clientcmd"
	_ "sigs.k8s.io/prow/pkg/client/clientset/versioned"
	_ "sigs.k8s.io/prow/pkg/config"
	_ "sigs.k8s.io/prow/pkg/io"
	_ "sigs.k8s.io/prow/pkg/pjutil"
	_ "sigs.k8s.io/prow/pkg/pod-utils/downwardapi"
	_ "sigs.k8s.io/prow/pkg/pod-utils/gcs"
	_ "sigs.k8s.io/yaml"
)

func main() {}
