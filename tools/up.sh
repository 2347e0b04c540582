#!/usr/bin/env bash
# `make up`: set up everything and run `pulumi up` on the default target.
#
#   1. the Pulumi CLI: the one on PATH, else built from Go modules (tools/cluster/build.sh);
#   2. the target: the current kube context if a cluster answers; else a local kind cluster
#      when a container engine runs; else (asked first) the local control plane of
#      tools/cluster, whose pods are simulated by kwok (nothing really runs);
#   3. a Pulumi backend: the one you are logged in to, else a local folder, with a generated
#      passphrase kept next to it;
#   4. the stack (default `dev`), created from Pulumi.vanilla.yaml the first time;
#   5. `pulumi up`, which shows the preview and asks before changing anything.
#
# usage: tools/up.sh [stack]        env: YES=1 skips the question (non-interactive use)
set -euo pipefail

cd "$(dirname "$0")/.."
STACK="${1:-dev}"
CACHE="${MLPLATFORM_CACHE:-$HOME/.cache/mlplatform}"
KIND_VERSION=v0.33.0
say() { printf '\n== %s\n' "$*"; }

# --- 1. Pulumi CLI -------------------------------------------------------------------------
if ! command -v pulumi >/dev/null 2>&1; then
  say "No Pulumi CLI on PATH: building it and the provider plugins from Go modules"
  tools/cluster/build.sh pulumi pulumi-dynamic pulumi-kubernetes pulumi-random
  export PATH="$CACHE/bin:$PATH" PULUMI_HOME="$CACHE/pulumi-home"
  export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
fi

# --- 2. target ---------------------------------------------------------------------------
CONTEXT=""
if kubectl version --request-timeout=5s >/dev/null 2>&1; then
  CONTEXT="$(kubectl config current-context)"
  say "Using the cluster of your current kube context: $CONTEXT"
elif (docker info || podman info) >/dev/null 2>&1; then
  KIND="$(command -v kind || true)"
  if [ -z "$KIND" ]; then
    say "Installing kind $KIND_VERSION into $CACHE/bin"
    GOBIN="$CACHE/bin" go install "sigs.k8s.io/kind@$KIND_VERSION"
    KIND="$CACHE/bin/kind"
  fi
  if ! "$KIND" get clusters 2>/dev/null | grep -qx mlplatform; then
    say "Creating the local kind cluster 'mlplatform'"
    "$KIND" create cluster --name mlplatform --wait 180s
  fi
  CONTEXT=kind-mlplatform
else
  say "No reachable cluster and no container engine for kind."
  cat <<'MSG'
The local control plane can stand in: a real kube-apiserver, etcd, controller-manager and
scheduler on 127.0.0.1, with kwok's simulated nodes. Pods are SIMULATED: they are scheduled
and reported Running, but no container runs. Enough to `pulumi up` the whole platform and
inspect every object with kubectl; not enough to run a pipeline.
MSG
  if [ "${YES:-}" != 1 ]; then
    read -r -p "Start the local control plane? [Y/n] " answer
    case "$answer" in [nN]*) exit 1 ;; esac
  fi
  tools/cluster/build.sh kubernetes etcd kwok
  export PATH="$CACHE/bin:$PATH"
  python3 tools/cluster/controlplane.py up
  export KUBECONFIG="$CACHE/cluster/kubeconfig"
  CONTEXT="$(kubectl config current-context)"
  LOCAL_KUBECONFIG="$KUBECONFIG"
fi

# --- 3. backend and passphrase -----------------------------------------------------------
if [ -z "${PULUMI_BACKEND_URL:-}" ] && ! pulumi whoami >/dev/null 2>&1; then
  mkdir -p "$CACHE/pulumi-state"
  export PULUMI_BACKEND_URL="file://$CACHE/pulumi-state"
  say "Using a local Pulumi backend: $PULUMI_BACKEND_URL"
fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ ! -s "$CACHE/passphrase" ]; then
    mkdir -p "$CACHE"
    (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$CACHE/passphrase")
    say "Generated the stack passphrase in $CACHE/passphrase (keep it: it decrypts the stack's secrets)"
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$CACHE/passphrase"
fi

# --- 4. stack ------------------------------------------------------------------------------
if ! pulumi stack select "$STACK" 2>/dev/null; then
  [ -f "Pulumi.$STACK.yaml" ] || cp Pulumi.vanilla.yaml "Pulumi.$STACK.yaml"
  pulumi stack init "$STACK"
fi
pulumi config set kubernetes:context "$CONTEXT"
if [ -n "${LOCAL_KUBECONFIG:-}" ]; then
  pulumi config set kubernetes:kubeconfig "$LOCAL_KUBECONFIG"
fi

# --- 5. up ---------------------------------------------------------------------------------
say "pulumi up (stack $STACK, context $CONTEXT)"
if [ "${YES:-}" = 1 ]; then
  exec pulumi up --yes
fi
exec pulumi up
