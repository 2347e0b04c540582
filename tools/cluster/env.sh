# Source me:  . tools/cluster/env.sh
# Puts the real-cluster-tier toolchain (built by tools/cluster/build.sh) first on
# PATH and configures Pulumi to run fully offline against a local file backend.
_mlp_here="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
export MLPLATFORM_CACHE="${MLPLATFORM_CACHE:-$HOME/.cache/mlplatform}"
export MLPLATFORM_BIN="$MLPLATFORM_CACHE/bin"
case ":$PATH:" in
  *":$MLPLATFORM_BIN:"*) ;;
  *) export PATH="$MLPLATFORM_BIN:$PATH" ;;
esac
export PULUMI_HOME="$MLPLATFORM_CACHE/pulumi-home"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# providers come from $PULUMI_HOME/plugins only (the language host is found
# next to the pulumi binary)
export PULUMI_IGNORE_AMBIENT_PLUGINS=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-mlplatform-local}"
# local state backend (override PULUMI_BACKEND_URL to use another folder)
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$MLPLATFORM_CACHE/pulumi-state}"
mkdir -p "$MLPLATFORM_CACHE/pulumi-state" "$PULUMI_HOME"
# the control plane's kubeconfig, if one was started with controlplane.py up
export MLPLATFORM_CLUSTER_DIR="${MLPLATFORM_CLUSTER_DIR:-$MLPLATFORM_CACHE/cluster}"
if [ -f "$MLPLATFORM_CLUSTER_DIR/kubeconfig" ]; then
  export KUBECONFIG="$MLPLATFORM_CLUSTER_DIR/kubeconfig"
fi
# shellcheck disable=SC1091
. "$_mlp_here/versions.env"
unset _mlp_here
