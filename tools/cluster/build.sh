#!/usr/bin/env bash
# Build the real-cluster-tier toolchain with the ordinary `go` client into
#   ${MLPLATFORM_CACHE:-$HOME/.cache/mlplatform}/bin
# Wrapper Go modules live in $CACHE/src/<tool>; nothing built lands in the repo.
# Each tool has a stamp file ($CACHE/stamps/<tool>) holding its pinned version
# plus a recipe revision; a tool is rebuilt only when a binary is missing or the
# stamp differs, so a warm run takes seconds.
#
# usage: tools/cluster/build.sh [tool ...]   (default: all)
#   tools: kubernetes etcd kwok pulumi pulumi-dynamic pulumi-kubernetes pulumi-random seaweedfs dex oauth2-proxy
# env:   MLPLATFORM_CACHE (default ~/.cache/mlplatform), FORCE=1 rebuilds,
#        BUILD_JOBS (go -p, default nproc)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$HERE/versions.env"

CACHE="${MLPLATFORM_CACHE:-$HOME/.cache/mlplatform}"
BIN="$CACHE/bin"
SRC="$CACHE/src"
STAMPS="$CACHE/stamps"
LOGS="$CACHE/logs"
export PULUMI_HOME="$CACHE/pulumi-home"
mkdir -p "$BIN" "$SRC" "$STAMPS" "$LOGS" "$PULUMI_HOME"

export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export CGO_ENABLED="${CGO_ENABLED:-0}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
JOBS="${BUILD_JOBS:-$(nproc)}"
BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# The checksum-database lookups reachable here answer 404 for many versions of
# pulumi's modules (pkg v3.215.0, cloud-ready-checks, the terraform bridge, the
# pulumi-kubernetes pseudo-version, ...) and for terraform-provider-random:
# skip the sumdb for those two module prefixes only (their hashes are then
# taken from what the module proxy serves).
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi,github.com/terraform-providers"

log() { printf '%s\n' "$*" >&2; }
modir() { # module@version -> its directory in the module cache (downloads it)
  go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'
}

# ---------------------------------------------------------------- kubernetes
K8S_STAGING_VERSION="v0.${K8S_VERSION#v1.}"   # v1.35.4 -> v0.35.4
build_kubernetes() {
  local d="$SRC/kubernetes" kdir major minor
  rm -rf "$d"; mkdir -p "$d"
  kdir="$(modir "k8s.io/kubernetes@$K8S_VERSION")"
  {
    echo "module mlplatform.local/build/kubernetes"
    echo
    echo "go $(sed -n 's/^go //p' "$kdir/go.mod")"
    echo
    # the main module decides GODEBUG defaults; keep kubernetes' own
    grep '^godebug ' "$kdir/go.mod" || true
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    # every staging module kubernetes replaces with ./staging/... -> published tag
    sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$K8S_STAGING_VERSION"'#p' "$kdir/go.mod"
    echo ")"
  } >"$d/go.mod"
  local pkgs="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl"
  (cd "$d" && go get $(for p in $pkgs; do printf '%s@%s ' "$p" "$K8S_VERSION"; done))
  major="${K8S_VERSION#v}"; major="${major%%.*}"
  minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
  local ld="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    ld+=" -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.gitTreeState=clean -X $p.buildDate=$BUILD_DATE"
  done
  (cd "$d" && go build -p "$JOBS" -trimpath -ldflags "$ld" -o "$BIN/" $pkgs)
}
check_kubernetes() { "$BIN/kube-apiserver" --version | grep -qx "Kubernetes $K8S_VERSION"; }

# ---------------------------------------------------------------------- etcd
build_etcd() {
  local d="$SRC/etcd"
  rm -rf "$d"; mkdir -p "$d"
  cat >"$d/go.mod" <<EOF
module mlplatform.local/build/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
  (cd "$d" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
      && go build -p "$JOBS" -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=release-$ETCD_VERSION" \
         -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
}
check_etcd() { "$BIN/etcd" --version | grep -q "etcd Version: ${ETCD_VERSION#v}"; }

# ---------------------------------------------------------------------- kwok
build_kwok() {
  local d="$SRC/kwok"
  rm -rf "$d"; mkdir -p "$d"
  cat >"$d/go.mod" <<EOF
module mlplatform.local/build/kwok

go 1.26.0

require sigs.k8s.io/kwok $KWOK_VERSION
EOF
  (cd "$d" && go get "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" \
      && go build -p "$JOBS" -trimpath \
         -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v} -X sigs.k8s.io/kwok/pkg/consts.BinaryName=kwok" \
         -o "$BIN/kwok" sigs.k8s.io/kwok/cmd/kwok)
  # kwok needs Stage configs: node init + lease heartbeat, pod ready/complete/
  # delete ("fast"), and the volume stages that act as a fake PV provisioner for
  # the `kwok-volume` StorageClass. Ship them from the module for controlplane.py.
  local st share="$CACHE/share/kwok"
  st="$(modir "sigs.k8s.io/kwok@$KWOK_VERSION")/kustomize/stage"
  mkdir -p "$share"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml \
           volume/fast/pvc-provision.yaml volume/fast/pv-bind.yaml volume/fast/pv-delete.yaml \
           volume/fast/pvc-delete.yaml; do
    echo "---"; cat "$st/$f"
  done >"$share/stages.yaml"
  cp "$st/volume/fast/storage-class.yaml" "$share/storage-class.yaml"
}
check_kwok() { "$BIN/kwok" --version 2>&1 | grep -q "${KWOK_VERSION#v}" && installed_kwok; }
installed_kwok() { [[ -s "$CACHE/share/kwok/stages.yaml" && -s "$CACHE/share/kwok/storage-class.yaml" ]]; }

# ----------------------------------------------------------------- seaweedfs
# The object store the vanilla and azure distributions run (image tag = SEAWEEDFS_VERSION), for
# the isolation test against the real server. `go install` refuses the module (its go.mod has
# replace directives), so build inside a writable copy of the module folder.
build_seaweedfs() {
  local d="$SRC/seaweedfs"
  rm -rf "$d"; mkdir -p "$SRC"
  cp -r "$(modir "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_MODULE_VERSION")" "$d"
  chmod -R u+w "$d"
  (cd "$d" && go build -p "$JOBS" -trimpath -ldflags "-s -w" -o "$BIN/weed" ./weed)
  rm -rf "$d"
}
check_seaweedfs() { "$BIN/weed" version | grep -q " $SEAWEEDFS_VERSION "; }

# ----------------------------------------------------------------------- dex
# The bundled identity provider of the sign-in (image tag = DEX_VERSION), for the real sign-in
# test. Dex's tags are not module versions (its go.mod lacks /v2), so the proxy serves the tag's
# commit as a pseudo-version only. Its go.mod replaces github.com/dexidp/dex/api/v2 with ./api/v2,
# a separate module absent from the zip: `go install` refuses it and a copy of the module folder
# cannot build. As a dependency of a wrapper module the replace is ignored and api/v2 resolves to
# its published release. CGO_ENABLED=0 (as the upstream image): no sqlite3 storage, which the
# platform does not use (memory, kubernetes and the SQL servers are compiled in).
build_dex() {
  local d="$SRC/dex"
  rm -rf "$d"; mkdir -p "$d"
  cat >"$d/go.mod" <<EOF
module mlplatform.local/build/dex

go 1.26.0

require github.com/dexidp/dex $DEX_MODULE_VERSION
EOF
  (cd "$d" && CGO_ENABLED=0 go get "github.com/dexidp/dex/cmd/dex@$DEX_MODULE_VERSION" \
      && CGO_ENABLED=0 go build -p "$JOBS" -trimpath -ldflags "-s -w -X main.version=$DEX_VERSION" \
         -o "$BIN/dex" github.com/dexidp/dex/cmd/dex)
}
check_dex() { "$BIN/dex" version | grep -qx "Dex Version: $DEX_VERSION"; }

# -------------------------------------------------------------- oauth2-proxy
# The sign-in proxy (image tag = OAUTH2_PROXY_VERSION). No replace directives: plain `go install`.
# Without the -X its --version says "undefined".
build_oauth2_proxy() {
  GOBIN="$BIN" go install -p "$JOBS" -trimpath \
    -ldflags "-s -w -X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=$OAUTH2_PROXY_VERSION" \
    "github.com/oauth2-proxy/oauth2-proxy/v7@$OAUTH2_PROXY_VERSION"
}
check_oauth2_proxy() { "$BIN/oauth2-proxy" --version | grep -q "^oauth2-proxy $OAUTH2_PROXY_VERSION "; }

source "$HERE/build-pulumi.sh"

# ------------------------------------------------------------------- driver
# name | stamp key (version + recipe revision) | binaries that must exist
declare -A KEY BINS
KEY[kubernetes]="$K8S_VERSION staging=$K8S_STAGING_VERSION r1"
BINS[kubernetes]="kube-apiserver kube-controller-manager kube-scheduler kubectl"
KEY[etcd]="$ETCD_VERSION r1";                 BINS[etcd]="etcd"
KEY[kwok]="$KWOK_VERSION r2";                 BINS[kwok]="kwok"
KEY[pulumi]="$PULUMI_VERSION r2"
BINS[pulumi]="pulumi pulumi-language-python pulumi-language-python-exec"
KEY[pulumi-dynamic]="$PULUMI_VERSION r1";   BINS[pulumi-dynamic]="pulumi-resource-pulumi-python"
KEY[pulumi-kubernetes]="$PULUMI_KUBERNETES_VERSION src=$PULUMI_KUBERNETES_MODULE_VERSION r2"
BINS[pulumi-kubernetes]=""   # lives in $CACHE/providers + PULUMI_HOME
KEY[pulumi-random]="$PULUMI_RANDOM_VERSION tf=$TF_RANDOM_VERSION bridge=$TF_BRIDGE_VERSION r3"
BINS[pulumi-random]=""
KEY[seaweedfs]="$SEAWEEDFS_VERSION src=$SEAWEEDFS_MODULE_VERSION r1"; BINS[seaweedfs]="weed"
KEY[dex]="$DEX_VERSION src=$DEX_MODULE_VERSION r1";             BINS[dex]="dex"
KEY[oauth2-proxy]="$OAUTH2_PROXY_VERSION r1";                   BINS[oauth2-proxy]="oauth2-proxy"
ALL=(kubernetes etcd kwok pulumi pulumi-dynamic pulumi-kubernetes pulumi-random seaweedfs dex oauth2-proxy)
declare -A VER=([kubernetes]=$K8S_VERSION [etcd]=$ETCD_VERSION [kwok]=$KWOK_VERSION
  [pulumi]=$PULUMI_VERSION [pulumi-dynamic]=$PULUMI_VERSION [pulumi-kubernetes]=$PULUMI_KUBERNETES_VERSION [pulumi-random]=$PULUMI_RANDOM_VERSION [seaweedfs]=$SEAWEEDFS_VERSION
  [dex]=$DEX_VERSION [oauth2-proxy]=$OAUTH2_PROXY_VERSION)

up_to_date() {
  local t="$1" b
  [[ "${FORCE:-0}" == 1 ]] && return 1
  [[ -f "$STAMPS/$t" && "$(cat "$STAMPS/$t")" == "${KEY[$t]}" ]] || return 1
  for b in ${BINS[$t]}; do [[ -x "$BIN/$b" ]] || return 1; done
  # extra install state (e.g. plugins in PULUMI_HOME)
  if declare -F "installed_${t//-/_}" >/dev/null; then "installed_${t//-/_}" || return 1; fi
  return 0
}

# A failure whose log shows the registries refusing or not answering (as opposed to a broken
# recipe) is recorded in $CACHE/unavailable.txt: the cluster tests then skip, saying why, and
# build.sh exits 3. Any other failure exits 1.
REGISTRY_REFUSED='(proxy\.golang\.org|sum\.golang\.org).*(403|404|410|Forbidden|Not Found|Gone)|dial tcp|no such host|i/o timeout|connection refused|TLS handshake timeout'

main() {
  local tools=("$@") t start s rc=0 failed=() brc unavailable=()
  ((${#tools[@]})) || tools=("${ALL[@]}")
  start=$(date +%s)
  for t in "${tools[@]}"; do
    [[ -n "${KEY[$t]:-}" ]] || { log "unknown tool: $t (known: ${ALL[*]})"; exit 2; }
    s=$(date +%s)
    if up_to_date "$t"; then
      printf '%-18s %-10s reused  (%ss)\n' "$t" "${VER[$t]}" "$(($(date +%s) - s))"
      continue
    fi
    rm -f "$STAMPS/$t"
    # (not inside `if`: errexit must stay active in the subshell)
    set +e
    ( set -euo pipefail; "build_${t//-/_}"; "check_${t//-/_}" ) >"$LOGS/build-$t.log" 2>&1
    brc=$?
    # Once more when the failure is not the registries': a compiler killed under memory pressure
    # leaves no message (seen once for etcd on a loaded 2-core machine); the Go caches keep the
    # packages already compiled, so a second try costs little.
    if ((brc != 0)) && ! grep -Eq "$REGISTRY_REFUSED" "$LOGS/build-$t.log"; then
      mv "$LOGS/build-$t.log" "$LOGS/build-$t.first.log"
      ( set -euo pipefail; "build_${t//-/_}"; "check_${t//-/_}" ) >"$LOGS/build-$t.log" 2>&1
      brc=$?
    fi
    set -e
    if ((brc == 0)); then
      echo "${KEY[$t]}" >"$STAMPS/$t"
      printf '%-18s %-10s built   (%ss)\n' "$t" "${VER[$t]}" "$(($(date +%s) - s))"
    else
      failed+=("$t")
      printf '%-18s %-10s FAILED  (%ss) see %s\n' "$t" "${VER[$t]}" "$(($(date +%s) - s))" "$LOGS/build-$t.log"
      tail -n 15 "$LOGS/build-$t.log" | sed 's/^/    /' >&2
      if grep -Eq "$REGISTRY_REFUSED" "$LOGS/build-$t.log"; then
        unavailable+=("$t: $(grep -Em1 "$REGISTRY_REFUSED" "$LOGS/build-$t.log")")
      else
        rc=1
      fi
    fi
  done
  printf 'total %ss; bin=%s%s\n' "$(($(date +%s) - start))" "$BIN" "${failed:+; FAILED: ${failed[*]}}"
  if ((${#unavailable[@]})); then
    printf '%s\n' "${unavailable[@]}" >"$CACHE/unavailable.txt"
    printf '!!! the package registries could not supply: %s\n' "${unavailable[*]}" >&2
    ((rc)) || rc=3
  elif ((rc == 0)); then
    rm -f "$CACHE/unavailable.txt"
  fi
  return $rc
}

main "$@"
