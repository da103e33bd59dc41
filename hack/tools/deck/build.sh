#!/usr/bin/env bash
# Builds Deck's front end from the pinned Prow module, with no Docker and no
# CDN: build.sh (one level up) runs it as
#
#   deck/build.sh PROW_MODULE_DIR OUT
#
# and it writes
#
#   OUT/kodata/{static,template,lenses}  Deck's bundles, templates and lens files,
#                                        as Prow's cmd/deck/gather-static.sh lays them out
#   OUT/assets/{mdl,material-icons,roboto}
#                                        what the templates load from public CDNs
#                                        (served by prowctl's Deck proxy, pkg/deck)
#
# Prow's JavaScript dependencies float (it has no lockfile): prow-package-lock.json
# is the one we resolved with `npm install --legacy-peer-deps` (a plain install
# fails: @bazel/terser 3.8 wants terser 4), so every build gets the same ones.
# npm runs no install scripts (npm 11's default): nothing downloads a browser
# or a Bazel.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$1
out=$2
go=${GO:-go}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The module cache is read-only and its zips drop exec bits.
cp -r "$src/." "$work/"
chmod -R u+w "$work"
find "$work/hack" "$work/cmd/deck" -name '*.sh' -exec chmod +x {} +
cp "$here/prow-package-lock.json" "$work/package-lock.json"

# gather-static.sh runs `yarn install` (through hack/build/ensure-node_modules.sh):
# npm, from our lockfile, instead.
mkdir -p "$work/.bin"
cat >"$work/.bin/yarn" <<'SHIM'
#!/bin/sh
exec npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error
SHIM
chmod +x "$work/.bin/yarn"
# NO_DOCKER: run node here; FORCE_HOST_GO: build ts-rollup with this Go, not
# one gimme would download. CI unset: with CI=true Prow's
# hack/build/ensure-node_modules.sh fetches node_modules from Prow's GCS
# cache bucket (and fails here, the module has no hack/tools).
(cd "$work" && PATH="$work/.bin:$PATH" NO_DOCKER=1 FORCE_HOST_GO=1 GOFLAGS=-mod=readonly GOWORK=off \
	env -u CI bash cmd/deck/gather-static.sh >"$work/gather.log" 2>&1) || {
	tail -30 "$work/gather.log" >&2
	exit 1
}

# The CDN files, from their npm packages.
mkdir -p "$work/assets-src"
cp "$here/assets/package.json" "$here/assets/package-lock.json" "$work/assets-src/"
(cd "$work/assets-src" && npm ci --no-audit --no-fund --loglevel=error)
nm=$work/assets-src/node_modules
a=$work/assets
mkdir -p "$a/mdl" "$a/material-icons" "$a/roboto/files"
cp "$nm/material-design-lite/material.min.js" "$nm/material-design-lite/dist/material.indigo-pink.min.css" "$a/mdl/"
cp "$nm/material-icons/iconfont/material-icons.css" "$nm"/material-icons/iconfont/material-icons.woff* "$a/material-icons/"
# fonts.googleapis.com/css?family=Roboto:400,700 is both weights in one sheet.
cat "$nm/@fontsource/roboto/400.css" "$nm/@fontsource/roboto/700.css" >"$a/roboto/roboto.css"
cp "$nm"/@fontsource/roboto/files/roboto-*-{400,700}-normal.woff* "$a/roboto/files/"

mkdir -p "$out"
rm -rf "$out/.kodata.tmp" "$out/.assets.tmp"
mv "$work/cmd/deck/kodata" "$out/.kodata.tmp"
mv "$a" "$out/.assets.tmp"
rm -rf "$out/kodata" "$out/assets"
mv "$out/.assets.tmp" "$out/assets"
# kodata last: its presence says the build is whole.
mv "$out/.kodata.tmp" "$out/kodata"
