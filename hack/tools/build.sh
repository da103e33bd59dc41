#!/usr/bin/env bash
# Builds the binaries of the personal Prow cluster (pkg/cluster) and Prow's own
# tools from the Go module proxy into a cache keyed by version:
#
#   $PROWCTL_TOOLS/kubernetes-<v>/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,kube-proxy}
#   $PROWCTL_TOOLS/etcd-<v>/etcd
#   $PROWCTL_TOOLS/kwok-<v>/kwok
#   $PROWCTL_TOOLS/prow-<pseudo-version date-commit>/{prow-controller-manager,checkconfig,mkpj,
#       clonerefs,initupload,entrypoint,sidecar,deck}
#   $PROWCTL_TOOLS/deck-ui-<prow date-commit>-<lockfiles hash>/{kodata,assets}
#       (Deck's front end and the files its templates take from CDNs; deck/build.sh)
#   $PROWCTL_TOOLS/argo-<v>/{workflow-controller,argoexec,crds/*.yaml,crds-minimal/*.yaml}
#   $PROWCTL_TOOLS/pause-<source hash>/pause
#   $PROWCTL_TOOLS/emushim-<source hash>/emushim
#   $PROWCTL_TOOLS/debian-<suite>-<packages key>/rootfs.tar   (a job image's base: shell, git)
#
# The real node also needs Debian's containerd, runc, CNI plugins and
# iptables, and mmdebstrap to make the rootfs; Deck's front end needs rsync,
# and the browser tests Chromium: installed with apt when missing (as root;
# otherwise it says what to run).
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
# A failed Go build ends the script (set -e): the preparation running beside
# it (below) ends with it.
cleanup() {
	if [[ -n ${preparing:-} ]] && kill -TERM "$preparing" 2>/dev/null; then
		wait "$preparing" 2>/dev/null || true
	fi
	rm -f "${tmp_files[@]}"
}
trap cleanup EXIT
# A build runs in the background (below), so a signal reaches this trap at
# once; it stops the build before the script exits.
building=
preparing=
stop() {
	local p
	# Both at once, then wait for both: each takes its time to end.
	for p in $building $preparing; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $building $preparing; do
		wait "$p" 2>/dev/null || true
	done
	exit "$1"
}

# stop_group PID ends the process group PID leads: a command and everything
# it started (mmdebstrap's extractors, which otherwise finish unpacking
# first; go's compilers). TERM, then KILL after 5 s.
stop_group() {
	kill -TERM -- "-$1" 2>/dev/null || return 0
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 -- "-$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
trap 'stop 130' INT
trap 'stop 143' TERM

# module_version DIR MODULE prints the version of MODULE that DIR's go.mod requires.
module_version() {
	(cd "$1" && "$go" list -m -f '{{.Version}}' "$2")
}

# Every binary this script makes, in build order, as OUTDIR/NAME; filled by
# plan below so progress can say what remains.
planned=()
plan() {
	local out=$1 spec
	shift
	for spec in "$@"; do
		planned+=("$out/${spec%%=*}")
	done
}

# remaining prints the names of the planned binaries not built yet.
remaining() {
	local p names=()
	for p in "${planned[@]}"; do
		[[ -x $p ]] || names+=("$(basename "$p")")
	done
	echo "${names[*]:-none}"
}

# A cold build takes many minutes with nothing printed by go; say what is
# building, for how long, and what remains: a line every 30 s, or one line
# rewritten every second on a terminal.
interactive=false
[[ -t 1 && -z ${CI:-} ]] && interactive=true
tty=$interactive

# say prints a line; on a terminal it first clears the progress line that
# the Go build in the foreground keeps rewriting (the preparation below runs
# beside it and speaks in the middle of it).
say() {
	if $tty; then
		printf '\r\033[K%s\n' "$*"
	else
		echo "$*"
	fi
}

# run_with_progress LABEL CMD... runs CMD in the background and reports on it.
run_with_progress() {
	local label=$1
	shift
	local start=$SECONDS last=0 rc=0 saved
	# A process group of its own (setsid execs in place: a background job
	# of this shell leads no group), so a stop reaches all of it.
	setsid "$@" &
	local pid=$!
	saved=$(trap -p TERM)
	trap 'stop_group "$pid"; exit 143' TERM
	while kill -0 "$pid" 2>/dev/null; do
		# In the background, so a signal's trap runs at once.
		sleep 1 &
		wait $! || true
		local el=$((SECONDS - start))
		if $interactive; then
			printf '\r\033[Ktools: %s: %dm%02ds (remaining: %s)' "$label" $((el / 60)) $((el % 60)) "$(remaining)"
		elif ((el - last >= 30)); then
			last=$el
			say "tools: $label: still building, ${el}s so far${planned[0]+ (remaining: $(remaining))}"
		fi
	done
	wait "$pid" || rc=$?
	# The caller's own trap again.
	if [[ -n $saved ]]; then eval "$saved"; else trap - TERM; fi
	$interactive && printf '\r\033[K'
	return "$rc"
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
		(cd "$mod" && run_with_progress "$name" "$go" build -trimpath -ldflags "-s -w $ldflags" -o "$tmp" "$pkg") &
		building=$!
		wait "$building"
		building=
		mv -f "$tmp" "$out/$name"
		echo "tools: built $name in $((SECONDS - start))s (remaining: $(remaining))"
	done
}

total=$SECONDS

etcd_v=$(module_version "$here/etcd" go.etcd.io/etcd/server/v3)
k8s_v=$(module_version "$here/kubernetes" k8s.io/kubernetes)
kwok_v=$(module_version "$here/kwok" sigs.k8s.io/kwok)
prow_v=$(module_version "$here/prow" sigs.k8s.io/prow)
# v0.0.0-20240619181241-cfb8754e0459 -> prow-20240619181241-cfb8754e0459
out_prow=$tools/prow-${prow_v#v0.0.0-}

k8s_bins=(
	kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver
	kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager
	kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
	kubelet=k8s.io/kubernetes/cmd/kubelet
	kube-proxy=k8s.io/kubernetes/cmd/kube-proxy
)
prow_bins=(
	prow-controller-manager=sigs.k8s.io/prow/cmd/prow-controller-manager
	checkconfig=sigs.k8s.io/prow/cmd/checkconfig
	mkpj=sigs.k8s.io/prow/cmd/mkpj
	clonerefs=sigs.k8s.io/prow/cmd/clonerefs
	initupload=sigs.k8s.io/prow/cmd/initupload
	entrypoint=sigs.k8s.io/prow/cmd/entrypoint
	sidecar=sigs.k8s.io/prow/cmd/sidecar
	deck=sigs.k8s.io/prow/cmd/deck
)
# Argo is built from a copy of its module (below): its go.mod only pins it.
argo_v=$(sed -n 's|^require github.com/argoproj/argo-workflows/v3 \(v[^ ]*\)$|\1|p' "$here/argo/go.mod")
out_argo=$tools/argo-$argo_v
argo_bins=(workflow-controller=./cmd/workflow-controller argoexec=./cmd/argoexec)
# The sandbox image's program has no version of its own: key it by its source.
pause_v=$(sha256sum "$here/pause/main.go" | cut -c1-12)
emushim_v=$(sha256sum "$here/emushim/main.go" | cut -c1-12)
plan "$tools/etcd-$etcd_v" etcd=.
plan "$tools/kubernetes-$k8s_v" "${k8s_bins[@]}"
plan "$tools/kwok-$kwok_v" kwok=sigs.k8s.io/kwok/cmd/kwok
plan "$out_prow" "${prow_bins[@]}"
plan "$out_argo" "${argo_bins[@]}"
plan "$tools/pause-$pause_v" pause=.
plan "$tools/emushim-$emushim_v" emushim=.
echo "tools: to build under $tools: $(remaining)"

# What is not Go: Debian's packages, the job images' root filesystem, the Go
# toolchain for the jobs' image and Deck's front end. They wait on the
# network and the disk more than on a core, so they run beside the Go builds
# (a cold make tools is ~2-4 min shorter), and say what they do in lines of
# their own. The real node's runtime comes from Debian's packages.
node_pkgs=(containerd runc containernetworking-plugins iptables mmdebstrap rsync chromium)
missing_pkgs=()
for p in "${node_pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_pkgs+=("$p")
done
if ((${#missing_pkgs[@]} > 0)) && [[ $(id -u) -ne 0 ]]; then
	echo "tools: the real node needs Debian packages: sudo apt-get install -y ${missing_pkgs[*]}" >&2
	exit 1
fi
prepare() {
	# A subshell starts without the script's traps: its own, so a stop
	# removes its half-made files too.
	preparing=
	trap 'exit 143' TERM
	trap cleanup EXIT
	interactive=false
	# Its lines are not about the Go binaries.
	planned=()
	if ((${#missing_pkgs[@]} > 0)); then
		say "tools: installing ${missing_pkgs[*]} with apt"
		start=$SECONDS
		run_with_progress "apt-get update" apt-get update -qq
		run_with_progress "apt-get install" bash -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null' _ "${missing_pkgs[@]}"
		say "tools: installed ${missing_pkgs[*]} in $((SECONDS - start))s"
	fi

	# A Debian root filesystem with a shell and git: the base of clonerefs' image
	# and of the test jobs' images. Keyed by suite, package list and options
	# (keep in step with cluster.Debian in pkg/cluster/tools.go; a test checks).
	debian_suite=bookworm
	debian_pkgs=git,ca-certificates
	# Without documentation and translations: a quarter smaller, and every
	# cluster start imports it.
	debian_opts=(--dpkgopt=path-exclude=/usr/share/doc/* --dpkgopt=path-include=/usr/share/doc/*/copyright
		--dpkgopt=path-exclude=/usr/share/man/* --dpkgopt=path-exclude=/usr/share/locale/*
		--dpkgopt=path-exclude=/usr/share/info/*)
	debian_key="$debian_pkgs ${debian_opts[*]}"
	debian_dir=$tools/debian-$debian_suite-$(printf '%s' "$debian_key" | sha256sum | cut -c1-8)
	if [[ -f $debian_dir/rootfs.tar ]]; then
		say "tools: $debian_dir/rootfs.tar (cached)"
	else
		mkdir -p "$debian_dir"
		tmp=$debian_dir/.rootfs.tmp.$$.tar
		tmp_files+=("$tmp")
		say "tools: making a Debian $debian_suite root filesystem ($debian_pkgs) -> $debian_dir/rootfs.tar"
		start=$SECONDS
		run_with_progress "mmdebstrap" mmdebstrap --quiet --format=tar --variant=apt --include="$debian_pkgs" "${debian_opts[@]}" "$debian_suite" "$tmp"
		mv -f "$tmp" "$debian_dir/rootfs.tar"
		say "tools: made the root filesystem in $((SECONDS - start))s"
	fi

	# The Go toolchain the tf-k8s jobs' image holds (pkg/jobimage, `prowctl image
	# build`): the module proxy's golang.org/toolchain module, the Go this machine
	# runs, into the module cache, where the image build (and its tests, which run
	# without a network) find it.
	go_version=$("$go" env GOVERSION)
	toolchain_mod=golang.org/toolchain@v0.0.1-$go_version.linux-amd64
	if zip=$(GOFLAGS=-mod=mod GOPROXY=off "$go" mod download -json "$toolchain_mod" 2>/dev/null | sed -n 's/^[[:space:]]*"Zip": "\(.*\)",*$/\1/p') && [[ -n $zip && -f $zip ]]; then
		say "tools: $toolchain_mod (cached)"
	else
		say "tools: downloading the Go toolchain $toolchain_mod for the jobs' image"
		start=$SECONDS
		(cd "$here/prow" && run_with_progress "go toolchain" "$go" mod download "$toolchain_mod")
		say "tools: downloaded the Go toolchain in $((SECONDS - start))s"
	fi

	# Deck's front end, keyed by Prow's version and everything that decides it.
	deck_ui_key=$(cat "$here/deck/build.sh" "$here/deck/prow-package-lock.json" "$here/deck/assets/package-lock.json" | sha256sum | cut -c1-8)
	deck_ui=$tools/deck-ui-${prow_v#v0.0.0-}-$deck_ui_key
	if [[ -d $deck_ui/kodata ]]; then
		say "tools: $deck_ui (cached)"
	else
		say "tools: building Deck's front end -> $deck_ui"
		start=$SECONDS
		prow_src=$(cd "$here/prow" && "$go" mod download sigs.k8s.io/prow && "$go" list -m -f '{{.Dir}}' sigs.k8s.io/prow)
		run_with_progress "deck front end" "$here/deck/build.sh" "$prow_src" "$deck_ui"
		say "tools: built Deck's front end in $((SECONDS - start))s"
	fi
}
prepare &
preparing=$!

# etcd first: small, and every cluster needs it.
build "$here/etcd" "$tools/etcd-$etcd_v" "" etcd=.

minor=${k8s_v#v*.}
minor=${minor%%.*}
major=${k8s_v#v}
major=${major%%.*}
cb=k8s.io/component-base/version
# Unstamped binaries report v0.0.0-master, which clients such as helm reject.
build "$here/kubernetes" "$tools/kubernetes-$k8s_v" \
	"-X $cb.gitVersion=$k8s_v -X $cb.gitMajor=$major -X $cb.gitMinor=$minor -X $cb.gitTreeState=clean" \
	"${k8s_bins[@]}"

build "$here/kwok" "$tools/kwok-$kwok_v" "" kwok=sigs.k8s.io/kwok/cmd/kwok

build "$here/prow" "$out_prow" "" "${prow_bins[@]}"

# Argo's workflow-controller and argoexec, with its own go.mod and go.sum,
# from a copy of the module in the tools cache: upstream's
# workflow/executor/osspecific/signal_linux.go is a symlink to
# signal_darwin.go, which module zips drop (argoexec then fails with
# "undefined: Setpgid"), and the module cache is read-only (-overlay is
# refused there). The copy gets the file back.
if [[ -x $out_argo/workflow-controller && -x $out_argo/argoexec && -f $out_argo/crds/argoproj.io_workflows.yaml && -f $out_argo/crds-minimal/argoproj.io_workflows.yaml ]]; then
	echo "tools: $out_argo/{workflow-controller,argoexec,crds,crds-minimal} (cached)"
else
	argo_mod=$(GOFLAGS=-mod=mod "$go" mod download -json "github.com/argoproj/argo-workflows/v3@$argo_v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
	argo_src=$tools/.argo-src-$argo_v
	rm -rf "$argo_src"
	cp -r "$argo_mod" "$argo_src"
	chmod -R u+w "$argo_src"
	cp "$argo_src/workflow/executor/osspecific/signal_darwin.go" "$argo_src/workflow/executor/osspecific/signal_linux.go"
	# Its ~700 modules, once: the build below then only compiles.
	(cd "$argo_src" && run_with_progress "argo modules" "$go" mod download)
	build "$argo_src" "$out_argo" "-X github.com/argoproj/argo-workflows/v3.version=$argo_v" "${argo_bins[@]}"
	# The full CRDs (schemas of every field) validate exported Workflows in
	# the tests; the personal cluster installs the minimal ones, as Argo's
	# own install manifests do (pkg/cluster/argo.go says why).
	mkdir -p "$out_argo/crds" "$out_argo/crds-minimal"
	cp "$argo_src"/manifests/base/crds/full/argoproj.io_*.yaml "$out_argo/crds/"
	cp "$argo_src"/manifests/base/crds/minimal/argoproj.io_*.yaml "$out_argo/crds-minimal/"
	rm -rf "$argo_src"
	echo "tools: copied Argo's CRDs -> $out_argo/{crds,crds-minimal}"
fi

build "$here/pause" "$tools/pause-$pause_v" "" pause=.

build "$here/emushim" "$tools/emushim-$emushim_v" "" emushim=.

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

wait "$preparing"
preparing=
echo "tools: all binaries ready under $tools ($((SECONDS - total))s)"
