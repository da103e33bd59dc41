// Starts Prow's upload utilities against the personal cluster's GCS emulator
// (see hack/tools/build.sh).
module github.com/prowctl/prowctl/hack/tools/emushim

go 1.24.0
