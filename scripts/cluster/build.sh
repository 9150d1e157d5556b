#!/usr/bin/env bash
# Builds the real Kubernetes control plane, etcd, Argo Workflows and helm that the cluster tests run against
# (issues 12 and 23), from source, for one named stack, into a cache OUTSIDE the repo:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/batchscore/cluster/<versions-tag>/bin/    the binaries
#   ${XDG_CACHE_HOME:-$HOME/.cache}/batchscore/cluster/<versions-tag>/crds/   Argo's CRDs
#
#   scripts/cluster/build.sh [--stack NAME]        (or BATCHSCORE_STACK=NAME; default: current)
#
# Stacks (see stack_pins): `current` = Kubernetes v1.37.2, Argo Workflows v4.1.2, helm v4.3.2; `lts` = Kubernetes
# v1.35.4, Argo Workflows v3.7.18, helm v3.21.4; etcd v3.6.16 in both. Everything comes from the Go module proxy
# through the ordinary `go` command, except Argo v4.1.2, which the proxy does not serve: it is built from the
# source tarball in ../shared/third_party/ (sha256 pinned below), or from the folder BATCHSCORE_ARGO_SRC names.
#
# When the stack's folder is already there it does nothing (in well under a second) but say so. The bin folder
# is always the last line printed, and the only line on stdout (everything else goes to stderr), so
#   BIN=$(scripts/cluster/build.sh --stack lts)
# works.
#
# Pins: the versions below, and the wrapper modules in test/cluster/build/<component>-<version>/ (go.mod + go.sum,
# made by `scripts/cluster/build.sh --stack NAME --update-pins`), whose go.sum fixes the hash of every module that
# goes into a binary. Argo is built from a copy of its source with its own go.mod and go.sum (checked by the go
# command); the module's own hash is pinned by its wrapper (proxy) or the tarball's sha256 (v4.1.2).
#
# Sharing between stacks: Go's module and build caches are shared anyway (so a second stack compiles only what
# differs), and a binary whose source and Go version equal one in another stack's finished folder (etcd) is hard
# linked from there instead of linked again (see reuse_or and the PARTS file of each folder).
#
# Envtest convention: when KUBEBUILDER_ASSETS names a folder holding executable `etcd` and `kube-apiserver`, those
# two are copied from there instead of built (the rest is still built or reused), and the versions-tag gets a
# suffix naming their checksum, so such a cache never passes for the pinned build.
#
# Robustness: everything is built into a temporary folder beside the cache folder and renamed into place only
# when every binary has been built and answered --version, so a half-finished build is never taken as done; a lock
# (flock) makes a second concurrent run wait for the first and then find the cache ready.
#
# Times (2 cores, Go 1.26.8): see test/cluster/README.md.
set -euo pipefail

# --- pins ---------------------------------------------------------------------------------------------------------
STACKS=(current lts)
ETCD_VERSION=v3.6.16 # go.etcd.io/etcd/server/v3 (newest v3.6.x the proxy serves), both stacks
# The Argo v4.1.2 source (not served by the module proxy): the public repository's tag v4.1.2, commit
# 16a52d67daf2f4a8a76fa8bec02a76a46aa46257, packed as ../shared/third_party/README.md says.
ARGO_TARBALL_V4_1_2_SHA256=fa22cf2834702e014517a338a5a2b997d1a85c14ce0305d8d7372d5792e6e0dd

stack_pins() { # NAME : sets the versions of one stack
  case $1 in
    current)
      K8S_VERSION=v1.37.2 # k8s.io/kubernetes: kube-apiserver, kube-scheduler, kube-controller-manager, kubectl
      ARGO_VERSION=v4.1.2 # github.com/argoproj/argo-workflows/v4: workflow-controller, argoexec, argo
      HELM_VERSION=v4.3.2 # helm.sh/helm/v4: helm
      ;;
    lts)
      K8S_VERSION=v1.35.4
      ARGO_VERSION=v3.7.18 # github.com/argoproj/argo-workflows/v3, served by the proxy
      HELM_VERSION=v3.21.4
      ;;
    *) die "unknown stack '$1' (known: ${STACKS[*]})" ;;
  esac
  # k8s.io/kubernetes v1.N.P requires its staging modules (k8s.io/api, ...) at v0.0.0; they are published as v0.N.P.
  K8S_STAGING_VERSION=v0.${K8S_VERSION#v1.}
  ARGO_MODULE=github.com/argoproj/argo-workflows/${ARGO_VERSION%%.*}
  HELM_MODULE=helm.sh/helm/${HELM_VERSION%%.*}
  # Argo releases the proxy does not serve are built from a pinned source tarball.
  ARGO_TARBALL=
  ARGO_TARBALL_SHA256=
  if [[ $ARGO_VERSION == v4.1.2 ]]; then
    ARGO_TARBALL=$REPO_ROOT/../shared/third_party/argo-workflows-v4.1.2.src.tar.gz
    ARGO_TARBALL_SHA256=$ARGO_TARBALL_V4_1_2_SHA256
  fi
}

K8S_MODULE=k8s.io/kubernetes
ETCD_MODULE=go.etcd.io/etcd/server/v3
K8S_CMDS=(kube-apiserver kube-scheduler kube-controller-manager kubectl)
ARGO_CMDS=(workflow-controller argoexec argo)
ALL_BINS=(etcd "${K8S_CMDS[@]}" "${ARGO_CMDS[@]}" helm)

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WRAPPERS=$REPO_ROOT/test/cluster/build
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/batchscore/cluster

log() { printf '%s\n' "$*" >&2; }
die() {
  log "cluster build: $*"
  exit 1
}

usage() {
  cat >&2 <<EOF
usage: scripts/cluster/build.sh [--stack NAME] [--update-pins | --print-tag | --print-versions | --list-stacks | --help]
  --stack NAME      the stack to build: ${STACKS[*]} (default: \$BATCHSCORE_STACK, else current)
  (no other option) build into $CACHE_ROOT/<versions-tag>/ unless already there; print its bin folder last
  --update-pins     regenerate the stack's wrapper modules test/cluster/build/<component>-<version>/{go.mod,go.sum}
  --print-tag       print the stack's versions-tag and exit
  --print-versions  print the stack's component versions (component=version, one a line) and exit
  --list-stacks     print the known stack names, one a line, and exit
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

wrapper() { echo "$WRAPPERS/$1-$2"; } # COMPONENT VERSION -> its wrapper module's folder

new_wrapper() { # DIR NAME MODULE@VERSION -> writes DIR/go.mod mirroring the module's go/godebug lines
  local dir=$1 name=$2 modver=$3 gomod g d
  rm -rf "$dir" && mkdir -p "$dir"
  gomod=$(cd "$dir" && mod_json_field GoMod "$modver")
  [[ -f $gomod ]] || die "no go.mod found for $modver"
  g=$(go_line "$gomod")
  d=$(godebug_line "$gomod")
  {
    echo "// Pins for scripts/cluster/build.sh (issues 12, 23): a wrapper module that builds $name from $modver."
    echo "// Generated by \`scripts/cluster/build.sh --update-pins\`; go.sum fixes every module's hash."
    echo "module batchscore.test/cluster/build/$name"
    echo
    echo "go ${g:-1.24.0}"
    [[ -n $d ]] && echo && echo "godebug $d"
  } >"$dir/go.mod"
  printf '%s\n' "$gomod"
}

update_pins() {
  local dir gomod m c

  log "== kubernetes $K8S_VERSION"
  dir=$(wrapper kubernetes "$K8S_VERSION")
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
  dir=$(wrapper etcd "$ETCD_VERSION")
  new_wrapper "$dir" etcd "$ETCD_MODULE@$ETCD_VERSION" >/dev/null
  # etcd's go.mod has replace lines (../api ...), so `go install $ETCD_MODULE@version` refuses it; as a
  # dependency of this wrapper those lines do not apply and the published go.etcd.io/etcd/* modules are used.
  (cd "$dir" && go mod edit -require="$ETCD_MODULE@$ETCD_VERSION" -tool="$ETCD_MODULE" && go mod tidy)

  log "== helm $HELM_VERSION"
  dir=$(wrapper helm "$HELM_VERSION")
  new_wrapper "$dir" helm "$HELM_MODULE@$HELM_VERSION" >/dev/null
  (cd "$dir" && go mod edit -require="$HELM_MODULE@$HELM_VERSION" -tool="$HELM_MODULE/cmd/helm" && go mod tidy)

  if [[ -z $ARGO_TARBALL ]]; then
    log "== argo $ARGO_VERSION"
    dir=$(wrapper argo "$ARGO_VERSION")
    new_wrapper "$dir" argo "$ARGO_MODULE@$ARGO_VERSION" >/dev/null
    # Pins the Argo module's hash (and, through the tool lines, its dependencies' hashes, which equal those of its
    # own go.sum). The binaries are built from a copy of its source with its own go.mod and go.sum (see
    # argo_source), because the module zip lacks a symlink that argoexec needs.
    (
      cd "$dir"
      go mod edit -require="$ARGO_MODULE@$ARGO_VERSION"
      for c in "${ARGO_CMDS[@]}"; do go mod edit -tool="$ARGO_MODULE/cmd/$c"; done
      go mod tidy
    )
  else
    log "== argo $ARGO_VERSION: built from its source tarball (sha256 pinned in this script), no wrapper module"
  fi
  log "wrapper modules written under $WRAPPERS"
}

# --- build steps (each runs with the partial cache folder in $WORK) ---------------------------------------------
K8S_LDFLAGS=
k8s_ldflags() {
  local v=${K8S_VERSION#v} major minor p date
  major=${v%%.*}
  minor=${v#*.}
  minor=${minor%%.*}
  date=$(mod_time "$(wrapper kubernetes "$K8S_VERSION")" "$K8S_MODULE@$K8S_VERSION" || true)
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
  (cd "$(wrapper etcd "$ETCD_VERSION")" && go build -trimpath -ldflags "-s -w" -o "$WORK/bin/etcd" "$ETCD_MODULE")
}

# All of them in one `go build`, so that the go command links them in parallel.
build_k8s() { # CMD...
  local pkgs=() c
  for c in "$@"; do pkgs+=("$K8S_MODULE/cmd/$c"); done
  (cd "$(wrapper kubernetes "$K8S_VERSION")" && go build -trimpath -ldflags "$K8S_LDFLAGS" -o "$WORK/bin/" "${pkgs[@]}")
}

build_helm() {
  local cg major minor flags
  cd "$(wrapper helm "$HELM_VERSION")"
  flags="-s -w -X $HELM_MODULE/internal/version.version=$HELM_VERSION"
  flags+=" -X $HELM_MODULE/internal/version.gitTreeState=clean"
  if [[ $HELM_MODULE == helm.sh/helm/v3 ]]; then
    # As helm 3's Makefile does: the Kubernetes version `helm template` assumes follows the client-go it is built
    # with. (Helm 4 reads it from its build info itself.)
    cg=$(go list -m -f '{{.Version}}' k8s.io/client-go)
    cg=${cg#v}
    major=$((${cg%%.*} + 1))
    minor=${cg#*.}
    minor=${minor%%.*}
    flags+=" -X $HELM_MODULE/pkg/lint/rules.k8sVersionMajor=$major -X $HELM_MODULE/pkg/lint/rules.k8sVersionMinor=$minor"
    flags+=" -X $HELM_MODULE/pkg/chartutil.k8sVersionMajor=$major -X $HELM_MODULE/pkg/chartutil.k8sVersionMinor=$minor"
  fi
  go build -trimpath -o "$WORK/bin/helm" -ldflags "$flags" "$HELM_MODULE/cmd/helm"
  cd - >/dev/null
}

ARGO_SRC=
ARGO_FROM=
argo_source() {
  # A writable copy of the pinned Argo source: the module from the proxy (hash checked against its wrapper's
  # go.sum on download), or the pinned tarball (sha256 checked here), or the folder BATCHSCORE_ARGO_SRC names.
  local dir f sum
  ARGO_SRC=$WORK/src/argo-workflows
  mkdir -p "$WORK/src"
  if [[ -z $ARGO_TARBALL ]]; then
    dir=$(cd "$(wrapper argo "$ARGO_VERSION")" && mod_json_field Dir "$ARGO_MODULE@$ARGO_VERSION")
    [[ -d $dir ]] || die "Argo module source not found"
    cp -R "$dir" "$ARGO_SRC"
  elif [[ -n ${BATCHSCORE_ARGO_SRC:-} ]]; then
    [[ -f $BATCHSCORE_ARGO_SRC/go.mod ]] || die "BATCHSCORE_ARGO_SRC=$BATCHSCORE_ARGO_SRC: no go.mod there"
    cp -R "$BATCHSCORE_ARGO_SRC" "$ARGO_SRC"
    rm -rf "$ARGO_SRC/.git"
  else
    sum=$(sha256sum "$ARGO_TARBALL" | cut -d' ' -f1)
    [[ $sum == "$ARGO_TARBALL_SHA256" ]] || die "$ARGO_TARBALL: sha256 $sum, expected $ARGO_TARBALL_SHA256"
    mkdir -p "$ARGO_SRC"
    tar -xzf "$ARGO_TARBALL" -C "$ARGO_SRC" --strip-components=1
  fi
  chmod -R u+w "$ARGO_SRC"
  f=$(sed -n 's/^module //p' "$ARGO_SRC/go.mod")
  [[ $f == "$ARGO_MODULE" ]] || die "the Argo source's go.mod names module '$f', not $ARGO_MODULE"
  # The module zip drops symlinks: upstream, workflow/executor/osspecific/signal_linux.go is a symlink to
  # signal_darwin.go (else argoexec fails with "undefined: Setpgid"). Restore it as a copy; the _linux/_darwin
  # file names are the only build constraint, so the copy needs no edit (checked below). (The tarball keeps it.)
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
      >"$ARGO_SRC/ui/dist/app/index.html"
  fi
  # Argo's CRDs (not its kustomization.yaml).
  for f in "$ARGO_SRC"/manifests/base/crds/full/*.yaml; do
    [[ $(basename "$f") == kustomization.yaml ]] || cp "$f" "$WORK/crds/"
  done
}

build_argo() { # CMD...
  local date pkgs=() c
  if [[ -z $ARGO_TARBALL ]]; then date=$(mod_time "$(wrapper argo "$ARGO_VERSION")" "$ARGO_MODULE@$ARGO_VERSION" || true); fi
  [[ -n ${date:-} ]] || date=1970-01-01T00:00:00Z
  for c in "$@"; do pkgs+=("./cmd/$c"); done
  (cd "$ARGO_SRC" && go build -trimpath -o "$WORK/bin/" -ldflags "-s -w \
    -X $ARGO_MODULE.version=$ARGO_VERSION -X $ARGO_MODULE.buildDate=$date -X $ARGO_MODULE.gitTag=$ARGO_VERSION" \
    "${pkgs[@]}")
}

from_assets() { # NAME
  cp "$ASSETS/$1" "$WORK/bin/$1"
  chmod 0755 "$WORK/bin/$1"
}

# What a binary was built from, with which Go: two finished cache folders whose PARTS name a binary with the same
# key hold the same binary, so the second build hard links it instead of linking it again.
PARTS=()
part_key() { # NAME -> its key
  case $1 in
    etcd) echo "$ETCD_MODULE@$ETCD_VERSION" ;;
    kube-* | kubectl) echo "$K8S_MODULE@$K8S_VERSION" ;;
    workflow-controller | argoexec | argo) echo "$ARGO_MODULE@$ARGO_VERSION${ARGO_FROM:+ $ARGO_FROM}" ;;
    helm) echo "$HELM_MODULE@$HELM_VERSION" ;;
  esac | sed "s|\$| $(go env GOVERSION)|"
}

# Hard links (or copies) the named binaries from another finished stack folder whose PARTS lists each with the
# same key; else runs the build command. Records every binary's key in PARTS either way.
reuse_or() { # "NAME..." BUILD-COMMAND [ARGS...]
  local names=($1) name line dir found=
  shift
  for dir in "$CACHE_ROOT"/*/; do
    dir=${dir%/}
    [[ -f $dir/PARTS && $dir != "$DEST" ]] || continue
    found=$dir
    for name in "${names[@]}"; do
      line="$name $(part_key "$name")"
      if ! grep -qxF "$line" "$dir/PARTS" || [[ ! -x $dir/bin/$name ]]; then
        found=
        break
      fi
    done
    [[ -n $found ]] && break
  done
  if [[ -n $found ]]; then
    log "   the same ${names[*]} is in $found: linked from there"
    for name in "${names[@]}"; do
      cp -l "$found/bin/$name" "$WORK/bin/$name" 2>/dev/null || cp "$found/bin/$name" "$WORK/bin/$name"
    done
  else
    "$@"
  fi
  for name in "${names[@]}"; do PARTS+=("$name $(part_key "$name")"); done
}

TIMES=()
timed() { # NAME COMMAND... : runs it and records its time
  local name=$1 t0 dt
  shift
  log "-- $name ..."
  t0=$(date +%s)
  "$@"
  dt=$(($(date +%s) - t0))
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
  out=$("$b/workflow-controller" version 2>&1) || die "workflow-controller version failed"
  log "$out"
  [[ $out == *"$ARGO_VERSION"* ]] || die "workflow-controller does not say $ARGO_VERSION"
  "$b/argoexec" version >&2
  "$b/argo" version >&2
  out=$("$b/helm" version --short) || die "helm version failed"
  log "helm: $out"
  [[ $out == "$HELM_VERSION"* ]] || die "helm says '$out', not $HELM_VERSION"
}

complete() { # DIR : all binaries and the CRDs there
  local d=$1 b
  [[ -d $d/bin && -d $d/crds ]] || return 1
  for b in "${ALL_BINS[@]}"; do [[ -x $d/bin/$b ]] || return 1; done
  compgen -G "$d/crds/*.yaml" >/dev/null
}

# --- main -----------------------------------------------------------------------------------------------------------
STACK=${BATCHSCORE_STACK:-current}
ACTION=build
while (($#)); do
  case $1 in
    --stack)
      (($# >= 2)) || {
        usage
        exit 2
      }
      STACK=$2
      shift
      ;;
    --stack=*) STACK=${1#--stack=} ;;
    --update-pins) ACTION=pins ;;
    --print-tag) ACTION=tag ;;
    --print-versions) ACTION=versions ;;
    --list-stacks) ACTION=list ;;
    --help | -h)
      usage
      exit 0
      ;;
    *)
      usage
      exit 2
      ;;
  esac
  shift
done
if [[ $ACTION == list ]]; then
  printf '%s\n' "${STACKS[@]}"
  exit 0
fi
stack_pins "$STACK"
TAG=k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_argo-${ARGO_VERSION}_helm-${HELM_VERSION}
if [[ $ACTION == versions ]]; then
  printf '%s\n' "stack=$STACK" "kubernetes=$K8S_VERSION" "etcd=$ETCD_VERSION" "argo-workflows=$ARGO_VERSION" \
    "helm=$HELM_VERSION"
  exit 0
fi
if [[ $ACTION == pins ]]; then
  update_pins
  exit 0
fi

ASSETS=
if [[ -n ${KUBEBUILDER_ASSETS:-} ]]; then
  if [[ -x $KUBEBUILDER_ASSETS/etcd && -x $KUBEBUILDER_ASSETS/kube-apiserver ]]; then
    ASSETS=$(cd "$KUBEBUILDER_ASSETS" && pwd)
    sum=$(cat "$ASSETS/etcd" "$ASSETS/kube-apiserver" | sha256sum)
    sum=${sum:0:12}
    TAG+=_assets-$sum
  else
    log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS holds no executable etcd and kube-apiserver: building them"
  fi
fi
[[ $ACTION == tag ]] && {
  echo "$TAG"
  exit 0
}

DEST=$CACHE_ROOT/$TAG
if complete "$DEST"; then
  log "cluster binaries of stack $STACK already built: $DEST"
  echo "$DEST/bin"
  exit 0
fi

# Checked before anything is built, so that a clone without ../shared fails at once, in one line.
if [[ -n $ARGO_TARBALL ]]; then
  if [[ -n ${BATCHSCORE_ARGO_SRC:-} ]]; then
    ARGO_FROM="dir:$(cd "$BATCHSCORE_ARGO_SRC" && pwd)"
  elif [[ -f $ARGO_TARBALL ]]; then
    ARGO_FROM="sha256:$ARGO_TARBALL_SHA256"
  else
    die "Argo $ARGO_VERSION (stack $STACK) is built from $ARGO_TARBALL, which is absent; set BATCHSCORE_ARGO_SRC to a folder holding its source (tag $ARGO_VERSION of github.com/argoproj/argo-workflows), or use --stack lts"
  fi
fi

command -v go >/dev/null || die "the go command is needed (Go >= 1.26.5)"
# A go.mod asking for a newer Go must fail here, not download a toolchain.
export GOTOOLCHAIN=local
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.$TAG.lock"
if ! flock -n 9; then
  log "another build of $TAG is running; waiting for it ..."
  flock 9
fi
if complete "$DEST"; then # the other run built it
  log "cluster binaries of stack $STACK already built: $DEST"
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
export CGO_ENABLED=0
log "building stack $STACK ($TAG) with $(go version) into $DEST"
[[ -n $ASSETS ]] && log "etcd and kube-apiserver from KUBEBUILDER_ASSETS=$ASSETS"
T0=$(date +%s)

if [[ -n $ASSETS ]]; then
  timed etcd from_assets etcd
  PARTS+=("etcd assets-$sum")
else
  timed etcd reuse_or etcd build_etcd
fi
k8s_ldflags
if [[ -n $ASSETS ]]; then
  timed kube-apiserver from_assets kube-apiserver
  PARTS+=("kube-apiserver assets-$sum")
  timed kubernetes reuse_or "${K8S_CMDS[*]:1}" build_k8s "${K8S_CMDS[@]:1}"
else
  timed kubernetes reuse_or "${K8S_CMDS[*]}" build_k8s "${K8S_CMDS[@]}"
fi
timed argo-source argo_source
timed argo reuse_or "${ARGO_CMDS[*]}" build_argo "${ARGO_CMDS[@]}"
timed helm reuse_or helm build_helm

check_versions "$WORK/bin"
rm -rf "$WORK/src"
{
  echo "stack: $STACK"
  echo "tag: $TAG"
  echo "kubernetes: $K8S_MODULE $K8S_VERSION (staging modules $K8S_STAGING_VERSION)"
  echo "etcd: $ETCD_MODULE $ETCD_VERSION"
  echo "argo: $ARGO_MODULE $ARGO_VERSION${ARGO_TARBALL:+ from ${ARGO_FROM}} (test dependency only)"
  echo "helm: $HELM_MODULE $HELM_VERSION"
  [[ -n $ASSETS ]] && echo "etcd, kube-apiserver: copied from KUBEBUILDER_ASSETS=$ASSETS"
  echo "built with: $(go version)"
} >"$WORK/VERSIONS"
printf '%s\n' "${PARTS[@]}" >"$WORK/PARTS"

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
log "  $(printf '%-24s %5d s' total $(($(date +%s) - T0)))"
log "disk: $(du -sh "$DEST" | cut -f1) in $DEST"
echo "$DEST/bin"
