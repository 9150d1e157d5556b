#!/usr/bin/env bash
# Builds the real Kubernetes control plane, etcd, Argo Workflows and helm that the cluster tests run against
# (issue 12), from source taken from the Go module proxy by the ordinary `go` command, into a cache OUTSIDE the
# repo:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/batchscore/cluster/<versions-tag>/bin/    the binaries
#   ${XDG_CACHE_HOME:-$HOME/.cache}/batchscore/cluster/<versions-tag>/crds/   Argo's CRDs
#
# When that folder is already there it does nothing (in well under a second) but say so. The bin folder is always
# the last line printed, and the only line on stdout (everything else goes to stderr), so
#   BIN=$(scripts/cluster/build.sh)
# works.
#
# Pins: the versions below, and the wrapper modules in test/cluster/build/<component>/ (go.mod + go.sum, made by
# `scripts/cluster/build.sh --update-pins`), whose go.sum fixes the hash of every module that goes into a binary.
# Argo's CLI and executor are built from a copy of the Argo module whose own go.sum is checked by the go command.
#
# Envtest convention: when KUBEBUILDER_ASSETS names a folder holding executable `etcd` and `kube-apiserver`, those
# two are copied from there instead of built (the rest is still built), and the versions-tag gets a suffix naming
# their checksum, so such a cache never passes for the pinned build.
#
# Robustness: everything is built into a temporary folder beside the cache folder and renamed into place only
# when every binary has been built and answered --version, so a half-finished build is never taken as done; a lock
# (flock) makes a second concurrent run wait for the first and then find the cache ready.
#
# Go's module and build caches stay where Go keeps them by default (outside the repo). Cold, this took ~9.5 min on
# 2 cores here (downloads included) and filled ~3.3 GB of module cache and ~5.6 GB of build cache; with those caches
# warm, ~30 s; see test/cluster/README.md.
set -euo pipefail

# --- pins ---------------------------------------------------------------------------------------------------------
K8S_VERSION=v1.34.4          # k8s.io/kubernetes: kube-apiserver, kube-scheduler, kube-controller-manager, kubectl
K8S_STAGING_VERSION=v0.34.4  # the k8s.io/* staging modules that k8s.io/kubernetes requires at v0.0.0
ETCD_VERSION=v3.6.16         # go.etcd.io/etcd/server/v3 (newest v3.6.x the proxy serves)
# Argo Workflows v4.0.5 is the only Argo v4 the proxy serves, and security flaws are reported for it. It is a TEST
# dependency only: it runs in the throwaway test cluster and is never part of batchscore's product, image or chart.
ARGO_VERSION=v4.0.5          # github.com/argoproj/argo-workflows/v4: workflow-controller, argoexec, argo
HELM_VERSION=v3.22.0         # helm.sh/helm/v3: helm

K8S_MODULE=k8s.io/kubernetes
ETCD_MODULE=go.etcd.io/etcd/server/v3
ARGO_MODULE=github.com/argoproj/argo-workflows/v4
HELM_MODULE=helm.sh/helm/v3
K8S_CMDS=(kube-apiserver kube-scheduler kube-controller-manager kubectl)
ARGO_CMDS=(workflow-controller argoexec argo)
ALL_BINS=(etcd "${K8S_CMDS[@]}" "${ARGO_CMDS[@]}" helm)

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WRAPPERS=$REPO_ROOT/test/cluster/build
TAG=k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_argo-${ARGO_VERSION}_helm-${HELM_VERSION}
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/batchscore/cluster

log() { printf '%s\n' "$*" >&2; }
die() { log "cluster build: $*"; exit 1; }

usage() {
  cat >&2 <<EOF
usage: scripts/cluster/build.sh [--update-pins | --print-tag | --help]
  (no option)    build into $CACHE_ROOT/<versions-tag>/ unless already there; print its bin folder last
  --update-pins  regenerate the wrapper modules test/cluster/build/*/go.mod + go.sum from the versions in this script
  --print-tag    print the versions-tag and exit
EOF
}

# The "go" line (and godebug line) of a module's go.mod, so that a wrapper builds with the same language version
# and GODEBUG defaults as the module does upstream (a dependency's own go/godebug lines do not apply to it).
go_line() { sed -n 's/^go \([0-9.]*\)$/\1/p' "$1" | head -n1; }
godebug_line() { sed -n 's/^godebug \(.*\)$/\1/p' "$1" | head -n1; }

# Path of a module version's go.mod in the module cache (downloads it, and its zip, through the proxy).
mod_json_field() { # FIELD MODULE@VERSION
  go mod download -json "$2" | sed -n "s/^[[:space:]]*\"$1\": \"\([^\"]*\)\",\{0,1\}\$/\1/p"
}

# Release time of a module version (from the proxy's .info), used as the build date so builds are reproducible.
mod_time() { # DIR MODULE@VERSION
  local info
  info=$(cd "$1" && mod_json_field Info "$2") || return 0
  [[ -f $info ]] && sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info"
}

new_wrapper() { # DIR NAME MODULE@VERSION -> writes DIR/go.mod mirroring the module's go/godebug lines
  local dir=$1 name=$2 modver=$3 gomod g d
  rm -rf "$dir" && mkdir -p "$dir"
  gomod=$(cd "$dir" && mod_json_field GoMod "$modver")
  [[ -f $gomod ]] || die "no go.mod found for $modver"
  g=$(go_line "$gomod"); d=$(godebug_line "$gomod")
  {
    echo "// Pins for scripts/cluster/build.sh (issue 12): a wrapper module that builds $name from $modver."
    echo "// Generated by \`scripts/cluster/build.sh --update-pins\`; go.sum fixes every module's hash."
    echo "module batchscore.test/cluster/build/$name"
    echo
    echo "go ${g:-1.24.0}"
    [[ -n $d ]] && echo && echo "godebug $d"
  } > "$dir/go.mod"
  printf '%s\n' "$gomod"
}

update_pins() {
  local dir gomod m c

  log "== kubernetes $K8S_VERSION"
  dir=$WRAPPERS/kubernetes
  gomod=$(new_wrapper "$dir" kubernetes "$K8S_MODULE@$K8S_VERSION")
  (
    cd "$dir"
    go mod edit -require="$K8S_MODULE@$K8S_VERSION"
    # k8s.io/kubernetes requires its staging modules at exactly v0.0.0 and replaces them with ./staging/...
    # folders, which a dependency's replace lines cannot do; map exactly those (not pseudo-versions such as
    # k8s.io/utils v0.0.0-2025...) to their published release.
    for m in $(awk '/^require \(/{r=1; next} r && /^\)/{r=0} r && $2 == "v0.0.0" {print $1}
                    /^require [^ (]+ v0\.0\.0$/ {print $2}' "$gomod" | sort -u); do
      go mod edit -replace="$m=$m@$K8S_STAGING_VERSION"
    done
    for c in "${K8S_CMDS[@]}"; do go mod edit -tool="$K8S_MODULE/cmd/$c"; done
    go mod tidy
  )

  log "== etcd $ETCD_VERSION"
  dir=$WRAPPERS/etcd
  new_wrapper "$dir" etcd "$ETCD_MODULE@$ETCD_VERSION" >/dev/null
  # etcd's go.mod has replace lines (../api ...), so `go install $ETCD_MODULE@version` refuses it; as a
  # dependency of this wrapper those lines do not apply and the published go.etcd.io/etcd/* modules are used.
  (cd "$dir" && go mod edit -require="$ETCD_MODULE@$ETCD_VERSION" -tool="$ETCD_MODULE" && go mod tidy)

  log "== helm $HELM_VERSION"
  dir=$WRAPPERS/helm
  new_wrapper "$dir" helm "$HELM_MODULE@$HELM_VERSION" >/dev/null
  (cd "$dir" && go mod edit -require="$HELM_MODULE@$HELM_VERSION" -tool="$HELM_MODULE/cmd/helm" && go mod tidy)

  log "== argo $ARGO_VERSION"
  dir=$WRAPPERS/argo
  new_wrapper "$dir" argo "$ARGO_MODULE@$ARGO_VERSION" >/dev/null
  # Pins the Argo module's hash (and, through the tool lines, its dependencies' hashes, which equal those of its own
  # go.sum). The binaries are built from a copy of its source with its own go.mod and go.sum (see argo_source),
  # because the module zip lacks a symlink that argoexec needs.
  (
    cd "$dir"
    go mod edit -require="$ARGO_MODULE@$ARGO_VERSION"
    for c in "${ARGO_CMDS[@]}"; do go mod edit -tool="$ARGO_MODULE/cmd/$c"; done
    go mod tidy
  )
  log "wrapper modules written under $WRAPPERS"
}

# --- build steps (each runs with the partial cache folder in $WORK) ---------------------------------------------
K8S_LDFLAGS=
k8s_ldflags() {
  local v=${K8S_VERSION#v} major minor p date
  major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
  date=$(mod_time "$WRAPPERS/kubernetes" "$K8S_MODULE@$K8S_VERSION" || true)
  [[ -n $date ]] || date=1970-01-01T00:00:00Z
  K8S_LDFLAGS="-s -w"
  # Without these the servers report v0.0.0-master+$Format:%H$, which kubectl cannot parse and helm's kubeVersion
  # checks reject.
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    K8S_LDFLAGS+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    K8S_LDFLAGS+=" -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
}

build_etcd() {
  (cd "$WRAPPERS/etcd" && go build -trimpath -ldflags "-s -w" -o "$WORK/bin/etcd" "$ETCD_MODULE")
}

build_k8s() { # CMD
  (cd "$WRAPPERS/kubernetes" && go build -trimpath -ldflags "$K8S_LDFLAGS" -o "$WORK/bin/$1" "$K8S_MODULE/cmd/$1")
}

build_helm() {
  local cg major minor
  cd "$WRAPPERS/helm"
  # As helm's Makefile does: the Kubernetes version `helm template` assumes follows the client-go it is built with.
  cg=$(go list -m -f '{{.Version}}' k8s.io/client-go); cg=${cg#v}
  major=$(( ${cg%%.*} + 1 )); minor=${cg#*.}; minor=${minor%%.*}
  go build -trimpath -o "$WORK/bin/helm" -ldflags "-s -w \
    -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor" \
    "$HELM_MODULE/cmd/helm"
  cd - >/dev/null
}

ARGO_SRC=
argo_source() {
  # A writable copy of the pinned Argo module (hash checked against test/cluster/build/argo/go.sum on download).
  local dir f
  dir=$(cd "$WRAPPERS/argo" && mod_json_field Dir "$ARGO_MODULE@$ARGO_VERSION")
  [[ -d $dir ]] || die "Argo module source not found"
  ARGO_SRC=$WORK/src/argo-workflows
  mkdir -p "$WORK/src"
  cp -R "$dir" "$ARGO_SRC"
  chmod -R u+w "$ARGO_SRC"
  # The module zip drops symlinks: upstream, workflow/executor/osspecific/signal_linux.go is a symlink to
  # signal_darwin.go (else argoexec fails with "undefined: Setpgid"). Restore it as a copy; the _linux/_darwin
  # file names are the only build constraint, so the copy needs no edit (checked below).
  f=$ARGO_SRC/workflow/executor/osspecific
  if [[ ! -e $f/signal_linux.go ]]; then
    if grep -q '^//go:build' "$f/signal_darwin.go"; then die "signal_darwin.go has a //go:build line now: review it"; fi
    cp "$f/signal_darwin.go" "$f/signal_linux.go"
  fi
  # The argo CLI embeds the UI's build output (ui/dist/app), which is not in the module: a placeholder will do,
  # as the tests never serve the UI.
  if [[ ! -e $ARGO_SRC/ui/dist/app ]]; then
    mkdir -p "$ARGO_SRC/ui/dist/app"
    printf '<!doctype html><title>Argo UI not built</title><p>batchscore test build: UI left out.</p>\n' \
      > "$ARGO_SRC/ui/dist/app/index.html"
  fi
  # Argo's CRDs (not its kustomization.yaml).
  for f in "$ARGO_SRC"/manifests/base/crds/full/*.yaml; do
    [[ $(basename "$f") == kustomization.yaml ]] || cp "$f" "$WORK/crds/"
  done
}

build_argo() { # CMD
  local date
  date=$(mod_time "$WRAPPERS/argo" "$ARGO_MODULE@$ARGO_VERSION" || true)
  [[ -n $date ]] || date=1970-01-01T00:00:00Z
  (cd "$ARGO_SRC" && go build -trimpath -o "$WORK/bin/$1" -ldflags "-s -w \
    -X $ARGO_MODULE.version=$ARGO_VERSION -X $ARGO_MODULE.buildDate=$date -X $ARGO_MODULE.gitTag=$ARGO_VERSION" \
    "./cmd/$1")
}

from_assets() { # NAME
  cp "$ASSETS/$1" "$WORK/bin/$1"
  chmod 0755 "$WORK/bin/$1"
}

# With KUBEBUILDER_ASSETS, the other binaries are the pinned build's: taken from its cache folder when that is
# complete (hard links where possible), else built.
PINNED_DEST=
pinned_or() { # NAME BUILD-FUNCTION [ARGS...]
  local name=$1
  shift
  if [[ -n $PINNED_DEST ]]; then
    cp -l "$PINNED_DEST/bin/$name" "$WORK/bin/$name" 2>/dev/null || cp "$PINNED_DEST/bin/$name" "$WORK/bin/$name"
  else
    "$@"
  fi
}

TIMES=()
timed() { # NAME COMMAND... : runs it and records its time
  local name=$1 t0 dt
  shift
  log "-- $name ..."
  t0=$(date +%s)
  "$@"
  dt=$(( $(date +%s) - t0 ))
  TIMES+=("$(printf '%-24s %5d s' "$name" "$dt")")
  log "-- $name: ${dt} s"
}

check_versions() { # BIN_DIR : every binary must run and say its version
  local b=$1 out
  out=$("$b/kube-apiserver" --version) || die "kube-apiserver --version failed"
  log "kube-apiserver: $out"
  if [[ -z $ASSETS && $out != "Kubernetes $K8S_VERSION" ]]; then die "kube-apiserver says '$out', not Kubernetes $K8S_VERSION"; fi
  "$b/kube-scheduler" --version >&2
  "$b/kube-controller-manager" --version >&2
  "$b/kubectl" version --client >&2
  "$b/etcd" --version >&2
  "$b/workflow-controller" version >&2
  "$b/argoexec" version >&2
  "$b/argo" version >&2
  "$b/helm" version >&2
}

complete() { # DIR : all binaries and the CRDs there
  local d=$1 b
  [[ -d $d/bin && -d $d/crds ]] || return 1
  for b in "${ALL_BINS[@]}"; do [[ -x $d/bin/$b ]] || return 1; done
  compgen -G "$d/crds/*.yaml" >/dev/null
}

# --- main -----------------------------------------------------------------------------------------------------------
case ${1:-} in
  --update-pins) update_pins; exit 0 ;;
  --print-tag|--help|-h|"") ;;
  *) usage; exit 2 ;;
esac
[[ ${1:-} == --help || ${1:-} == -h ]] && { usage; exit 0; }

ASSETS=
PINNED_TAG=$TAG
if [[ -n ${KUBEBUILDER_ASSETS:-} ]]; then
  if [[ -x $KUBEBUILDER_ASSETS/etcd && -x $KUBEBUILDER_ASSETS/kube-apiserver ]]; then
    ASSETS=$(cd "$KUBEBUILDER_ASSETS" && pwd)
    sum=$(cat "$ASSETS/etcd" "$ASSETS/kube-apiserver" | sha256sum); sum=${sum:0:12}
    TAG+=_assets-$sum
  else
    log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS holds no executable etcd and kube-apiserver: building them"
  fi
fi
[[ ${1:-} == --print-tag ]] && { echo "$TAG"; exit 0; }

DEST=$CACHE_ROOT/$TAG
if complete "$DEST"; then
  log "cluster binaries already built: $DEST"
  echo "$DEST/bin"
  exit 0
fi

command -v go >/dev/null || die "the go command is needed (Go >= 1.26)"
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.$TAG.lock"
if ! flock -n 9; then
  log "another build of $TAG is running; waiting for it ..."
  flock 9
fi
if complete "$DEST"; then # the other run built it
  log "cluster binaries already built: $DEST"
  echo "$DEST/bin"
  exit 0
fi

# Left over by a run that was killed (we hold the lock, so no run is building into them).
for stale in "$CACHE_ROOT/.$TAG.partial."*; do
  [[ -e $stale ]] || continue
  log "removing the leftovers of an unfinished build: $stale"
  chmod -R u+w "$stale" 2>/dev/null || true
  rm -rf "$stale"
done
WORK=$(mktemp -d "$CACHE_ROOT/.$TAG.partial.XXXXXX")
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
chmod 0755 "$WORK"
mkdir -p "$WORK/bin" "$WORK/crds"
if [[ -n $ASSETS ]] && complete "$CACHE_ROOT/$PINNED_TAG"; then PINNED_DEST=$CACHE_ROOT/$PINNED_TAG; fi
export CGO_ENABLED=0
log "building $TAG with $(go version) into $DEST"
[[ -n $ASSETS ]] && log "etcd and kube-apiserver from KUBEBUILDER_ASSETS=$ASSETS"
T0=$(date +%s)

[[ -n $PINNED_DEST ]] && log "the other binaries from the pinned build in $PINNED_DEST"
if [[ -n $ASSETS ]]; then timed etcd from_assets etcd; else timed etcd build_etcd; fi
k8s_ldflags
for c in "${K8S_CMDS[@]}"; do
  if [[ $c == kube-apiserver && -n $ASSETS ]]; then timed "$c" from_assets "$c"; else timed "$c" pinned_or "$c" build_k8s "$c"; fi
done
timed argo-source argo_source
for c in "${ARGO_CMDS[@]}"; do timed "$c" pinned_or "$c" build_argo "$c"; done
timed helm pinned_or helm build_helm

check_versions "$WORK/bin"
rm -rf "$WORK/src"
{
  echo "tag: $TAG"
  echo "kubernetes: $K8S_MODULE $K8S_VERSION (staging modules $K8S_STAGING_VERSION)"
  echo "etcd: $ETCD_MODULE $ETCD_VERSION"
  echo "argo: $ARGO_MODULE $ARGO_VERSION (test dependency only)"
  echo "helm: $HELM_MODULE $HELM_VERSION"
  [[ -n $ASSETS ]] && echo "etcd, kube-apiserver: copied from KUBEBUILDER_ASSETS=$ASSETS"
  echo "built with: $(go version)"
} > "$WORK/VERSIONS"

# Into place. A stale, incomplete folder of the same name (binaries deleted by hand) is moved aside first.
if [[ -e $DEST ]]; then
  mv "$DEST" "$WORK.old"
  chmod -R u+w "$WORK.old" 2>/dev/null || true
  rm -rf "$WORK.old"
fi
mv "$WORK" "$DEST"
trap - EXIT

log "times:"
for t in "${TIMES[@]}"; do log "  $t"; done
log "  $(printf '%-24s %5d s' total $(( $(date +%s) - T0 )))"
log "disk: $(du -sh "$DEST" | cut -f1) in $DEST"
echo "$DEST/bin"
