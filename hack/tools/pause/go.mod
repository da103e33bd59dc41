// The personal cluster's sandbox image (see hack/tools/build.sh).
module github.com/prowctl/prowctl/hack/tools/pause

go 1.24.0
