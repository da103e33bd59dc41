#!/usr/bin/env bash
# Builds the binaries of the personal Prow cluster (pkg/cluster) and Prow's own
# tools from the Go module proxy into a cache keyed by version:
#
#   $PROWCTL_TOOLS/kubernetes-<v>/{kube-apiserver,kube-controller-manager,kube-scheduler}
#   $PROWCTL_TOOLS/etcd-<v>/etcd
#   $PROWCTL_TOOLS/kwok-<v>/kwok
#   $PROWCTL_TOOLS/prow-<pseudo-version date-commit>/{prow-controller-manager,checkconfig,mkpj}
#
# Versions come from the go.mod of each module under hack/tools/. A binary that
# already exists is reused; each is built under a temporary name and renamed, so
# an interrupted build never leaves a half-written binary behind.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools=${PROWCTL_TOOLS:-$HOME/.cache/prowctl/tools}
go=${GO:-go}

# Each module under hack/tools is built on its own, never as part of a
# workspace, and only from the versions its go.sum pins.
export GOWORK=off
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0

tmp_files=()
cleanup() { rm -f "${tmp_files[@]}"; }
trap cleanup EXIT

# module_version DIR MODULE prints the version of MODULE that DIR's go.mod requires.
module_version() {
	(cd "$1" && "$go" list -m -f '{{.Version}}' "$2")
}

# build MODDIR OUTDIR LDFLAGS NAME=PACKAGE... builds each missing binary.
build() {
	local mod=$1 out=$2 ldflags=$3
	shift 3
	local spec name pkg tmp start
	for spec in "$@"; do
		name=${spec%%=*}
		pkg=${spec#*=}
		if [[ -x $out/$name ]]; then
			echo "tools: $out/$name (cached)"
			continue
		fi
		mkdir -p "$out"
		tmp=$out/.$name.tmp.$$
		tmp_files+=("$tmp")
		echo "tools: building $name from $pkg -> $out/$name"
		start=$SECONDS
		(cd "$mod" && "$go" build -trimpath -ldflags "-s -w $ldflags" -o "$tmp" "$pkg")
		mv -f "$tmp" "$out/$name"
		echo "tools: built $name in $((SECONDS - start))s"
	done
}

total=$SECONDS

# etcd first: small, and every cluster needs it.
v=$(module_version "$here/etcd" go.etcd.io/etcd/server/v3)
build "$here/etcd" "$tools/etcd-$v" "" etcd=.

v=$(module_version "$here/kubernetes" k8s.io/kubernetes)
minor=${v#v*.}
minor=${minor%%.*}
major=${v#v}
major=${major%%.*}
cb=k8s.io/component-base/version
# Unstamped binaries report v0.0.0-master, which clients such as helm reject.
build "$here/kubernetes" "$tools/kubernetes-$v" \
	"-X $cb.gitVersion=$v -X $cb.gitMajor=$major -X $cb.gitMinor=$minor -X $cb.gitTreeState=clean" \
	kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
	kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
	kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler

v=$(module_version "$here/kwok" sigs.k8s.io/kwok)
build "$here/kwok" "$tools/kwok-$v" "" \
	kwok=sigs.k8s.io/kwok/cmd/kwok

v=$(module_version "$here/prow" sigs.k8s.io/prow)
# v0.0.0-20240619181241-cfb8754e0459 -> prow-20240619181241-cfb8754e0459
out_prow=$tools/prow-${v#v0.0.0-}
build "$here/prow" "$out_prow" "" \
	prow-controller-manager=sigs.k8s.io/prow/cmd/prow-controller-manager \
	checkconfig=sigs.k8s.io/prow/cmd/checkconfig \
	mkpj=sigs.k8s.io/prow/cmd/mkpj

# The ProwJob CRD of the same Prow version, which `prowctl cluster up` installs.
crd=$out_prow/prowjob_customresourcedefinition.yaml
if [[ ! -f $crd ]]; then
	(cd "$here/prow" && "$go" mod download sigs.k8s.io/prow)
	src=$(cd "$here/prow" && "$go" list -m -f '{{.Dir}}' sigs.k8s.io/prow)/config/prow/cluster/prowjob-crd/prowjob_customresourcedefinition.yaml
	tmp=$crd.tmp.$$
	tmp_files+=("$tmp")
	cp "$src" "$tmp"
	chmod 0644 "$tmp"
	mv -f "$tmp" "$crd"
	echo "tools: copied the ProwJob CRD -> $crd"
else
	echo "tools: $crd (cached)"
fi

echo "tools: all binaries ready under $tools ($((SECONDS - total))s)"
