// Pins Argo Workflows, whose workflow-controller and argoexec the personal
// cluster runs with `prowctl cluster up --with argo` (see hack/tools/build.sh).
// Built from a copy of the module, not from here: its argoexec needs a file
// the module zip drops (a symlink upstream). v3.7.18: served by the proxy,
// past every 2026 advisory found, and built on Kubernetes v0.33 libraries
// like our v1.33 apiserver (v4.0.7, the only served v4 past them, changes
// the controller's flags and config).
module github.com/prowctl/prowctl/hack/tools/argo

go 1.24.0

require github.com/argoproj/argo-workflows/v3 v3.7.18
