# Pulumi parts of the toolchain; sourced by build.sh (uses its BIN/SRC/HERE...).
# shellcheck shell=bash

# Pseudo-version of github.com/pulumi/pulumi-kubernetes/provider/v4 that the Go
# proxy serves here. pulumi-kubernetes does not tag provider/v4.x.y, so only
# pseudo-versions exist and the proxy serves just this one (commit f47bc2d6f199,
# 2026-01-15). Its schema.json matches the PyPI pulumi-kubernetes 4.25.0 SDK
# resource for resource, hence PULUMI_KUBERNETES_VERSION=v4.25.0.
PULUMI_KUBERNETES_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
# github.com/pulumi/pulumi-random/provider/v4 is not served at any version, so
# pulumi-resource-random is rebuilt from its parts (same recipe as upstream's
# provider/resources.go): the Terraform bridge + terraform-provider-random.
TF_BRIDGE_VERSION=v3.110.0
TF_RANDOM_VERSION=v1.3.2-0.20231204135814-c6e90de46687   # = terraform-provider-random v3.6.0

# Print the replace directives of a go.mod whose target is NOT a local path.
nonlocal_replaces() {
  awk '
    /^replace[ \t]*\($/ { inblk=1; next }
    inblk && /^\)/ { inblk=0; next }
    inblk { line=$0 }
    !inblk && /^replace / { line=$0; sub(/^replace[ \t]+/, "", line) }
    line != "" {
      split(line, parts, "=>"); rhs=parts[2]; gsub(/^[ \t]+/, "", rhs)
      if (rhs !~ /^(\.|\/)/) print "replace " line
      line=""
    }' "$1"
}

# Provider binaries are built into $PROVIDERS, NOT $BIN: a pulumi-resource-* on
# $PATH would shadow the PULUMI_HOME plugin ("using ... from $PATH" warnings).
PROVIDERS="$CACHE/providers"
mkdir -p "$PROVIDERS"
# (pulumi-resource-pulumi-python is no provider binary but the script the engine looks for next to
# the pulumi binary, like the language host: see build_pulumi_dynamic.)
find "$BIN" -maxdepth 1 -name 'pulumi-resource-*' ! -name pulumi-resource-pulumi-python -delete

pulumi_install_plugin() { # kind name version binary
  local kind="$1" name="$2" ver="$3" file="$4"
  rm -rf "$PULUMI_HOME/plugins/$kind-$name-$ver" "$PULUMI_HOME/plugins/$kind-$name-$ver".{lock,partial}
  PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true \
    "$BIN/pulumi" plugin install "$kind" "$name" "$ver" --file "$file" --non-interactive
}
plugin_installed() { # kind name version binary-name
  local dir="$PULUMI_HOME/plugins/$1-$2-$3"
  [[ -x "$dir/$4" && ! -e "$dir.partial" ]]
}

# --------------------------------------------------------------- pulumi CLI
build_pulumi() {
  local d="$SRC/pulumi" pkgdir sdkdir ld
  rm -rf "$d"; mkdir -p "$d/cmd/pulumi-language-python"
  pkgdir="$(modir "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION")"
  sdkdir="$(modir "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION")"
  # pkg/go.mod replaces the sdk with ../sdk (ignored for dependencies): require
  # both at the same version and copy pkg's other (non-local) replaces.
  {
    echo "module mlplatform.local/build/pulumi"
    echo
    echo "go $(sed -n 's/^go //p' "$pkgdir/go.mod")"
    echo
    echo "require ("
    echo "	github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION"
    echo "	github.com/pulumi/pulumi/sdk/v3 $PULUMI_VERSION"
    echo ")"
    echo
    nonlocal_replaces "$pkgdir/go.mod"
  } >"$d/go.mod"
  # The Python language host's own module is not served by the proxy: build
  # tools/cluster/langhost (a small host on the sdk's python toolchain package).
  cp "$HERE/langhost/main.go" "$d/cmd/pulumi-language-python/main.go"
  (cd "$d" && go get -tool "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION" \
     && go get "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" && go mod tidy)
  grep -q "github.com/pulumi/pulumi/sdk/v3 $PULUMI_VERSION" "$d/go.mod" \
    || { log "pulumi sdk version drifted in $d/go.mod"; return 1; }
  ld="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
  (cd "$d" && go build -p "$JOBS" -trimpath -ldflags "$ld" -o "$BIN/" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi ./cmd/pulumi-language-python)
  install -m 0755 "$sdkdir/python/cmd/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
}
check_pulumi() { [[ "$("$BIN/pulumi" version)" == "$PULUMI_VERSION" ]]; }

# ------------------------------------------- dynamic providers (pulumi-python)
# The engine runs a Python dynamic resource (library/certificates.py) through the plugin
# `pulumi-resource-pulumi-python`: a shell script the sdk module ships (python/dist), which starts
# `python -m pulumi.dynamic` in the project's virtualenv. It is found next to the pulumi binary
# like the language host. A tool of its own, so adding it rebuilds nothing (a copy, 0 s).
build_pulumi_dynamic() {
  install -m 0755 "$(modir "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION")/python/dist/pulumi-resource-pulumi-python" \
    "$BIN/pulumi-resource-pulumi-python"
}
check_pulumi_dynamic() { grep -q -- '-m pulumi.dynamic' "$BIN/pulumi-resource-pulumi-python"; }

# ------------------------------------------------------- pulumi-kubernetes
build_pulumi_kubernetes() {
  local d="$SRC/pulumi-kubernetes" provdir ver="${PULUMI_KUBERNETES_VERSION#v}" c
  rm -rf "$d"; mkdir -p "$d/cmd/pulumi-resource-kubernetes"
  provdir="$(modir "github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_KUBERNETES_MODULE_VERSION")"
  c="$d/cmd/pulumi-resource-kubernetes"
  # provider/go.mod replaces its Go sdk with ../sdk: use the published sdk tag
  {
    echo "module mlplatform.local/build/pulumi-kubernetes"
    echo
    echo "go $(sed -n 's/^go //p' "$provdir/go.mod")"
    echo
    echo "require ("
    echo "	github.com/pulumi/pulumi-kubernetes/provider/v4 $PULUMI_KUBERNETES_MODULE_VERSION"
    echo "	github.com/pulumi/pulumi-kubernetes/sdk/v4 $PULUMI_KUBERNETES_VERSION"
    echo ")"
    echo
    nonlocal_replaces "$provdir/go.mod"
  } >"$d/go.mod"
  # upstream main.go embeds schema-embed.json + terraform-mapping-embed.json that
  # `go generate` (generate.go, run by its Makefile) derives from schema.json and
  # terraform-mapping.json with VERSION set: do the same in the wrapper copy.
  cp "$provdir/cmd/pulumi-resource-kubernetes/"{main.go,generate.go,schema.json,terraform-mapping.json} "$c/"
  chmod u+w "$c"/*
  (cd "$d" && go mod tidy && cd "$c" && VERSION="$ver" go run generate.go)
  test -s "$c/schema-embed.json" && test -s "$c/terraform-mapping-embed.json"
  (cd "$d" && go build -p "$JOBS" -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$ver" \
      -o "$PROVIDERS/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes)
  pulumi_install_plugin resource kubernetes "$PULUMI_KUBERNETES_VERSION" "$PROVIDERS/pulumi-resource-kubernetes"
}
check_pulumi_kubernetes() {
  installed_pulumi_kubernetes
}
installed_pulumi_kubernetes() {
  plugin_installed resource kubernetes "$PULUMI_KUBERNETES_VERSION" pulumi-resource-kubernetes
}

# ----------------------------------------------------------- pulumi-random
build_pulumi_random() {
  local d="$SRC/pulumi-random" tfdir bridgedir ver="${PULUMI_RANDOM_VERSION#v}"
  rm -rf "$d"; mkdir -p "$d/randomprovider" "$d/cmd/pulumi-tfgen-random" "$d/cmd/pulumi-resource-random"
  bridgedir="$(modir "github.com/pulumi/pulumi-terraform-bridge/v3@$TF_BRIDGE_VERSION")"
  tfdir="$(modir "github.com/terraform-providers/terraform-provider-random@$TF_RANDOM_VERSION")"
  # Like upstream pulumi-random: a writable copy of the Terraform provider with a
  # tiny `shim` package that exposes its internal provider constructor.
  cp -r "$tfdir" "$d/upstream"; chmod -R u+w "$d/upstream"
  mkdir -p "$d/upstream/shim"
  cat >"$d/upstream/shim/shim.go" <<'EOF'
package shim

import (
	tfpf "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the Terraform plugin-framework random provider.
func NewProvider() tfpf.Provider { return provider.New() }
EOF
  {
    echo "module mlplatform.local/build/pulumi-random"
    echo
    echo "go $(sed -n 's/^go //p' "$bridgedir/go.mod")"
    echo
    echo "require ("
    echo "	github.com/pulumi/pulumi-terraform-bridge/v3 $TF_BRIDGE_VERSION"
    echo "	github.com/terraform-providers/terraform-provider-random $TF_RANDOM_VERSION"
    echo ")"
    echo
    echo "replace github.com/terraform-providers/terraform-provider-random => ./upstream"
    nonlocal_replaces "$bridgedir/go.mod"
  } >"$d/go.mod"
  cp "$HERE/random/provider.go" "$d/randomprovider/provider.go"
  cp "$HERE/random/tfgen_main.go" "$d/cmd/pulumi-tfgen-random/main.go"
  cp "$HERE/random/resource_main.go" "$d/cmd/pulumi-resource-random/main.go"
  echo '{}' >"$d/randomprovider/bridge-metadata.json"
  echo '{}' >"$d/cmd/pulumi-resource-random/schema-embed.json"
  (cd "$d" && go mod tidy)
  local ld="-s -w -X mlplatform.local/build/pulumi-random/randomprovider.Version=$ver"
  # 1) tfgen: generate schema.json + bridge-metadata.json (upstream `make tfgen`)
  (cd "$d" && go build -p "$JOBS" -trimpath -ldflags "$ld" -o "$d/bin/pulumi-tfgen-random" ./cmd/pulumi-tfgen-random)
  (cd "$d" && MLP_TF_RANDOM_SRC="$d/upstream" ./bin/pulumi-tfgen-random schema --out "$d/gen")
  cp "$d/gen/bridge-metadata.json" "$d/randomprovider/bridge-metadata.json"
  # 2) upstream's generate.go: schema.json with the version set -> schema-embed.json
  python3 - "$d/gen/schema.json" "$d/cmd/pulumi-resource-random/schema-embed.json" "$ver" <<'EOF'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["version"] = sys.argv[3]
json.dump(spec, open(sys.argv[2], "w"), separators=(",", ":"))
EOF
  # 3) the provider binary, embedding both
  (cd "$d" && go build -p "$JOBS" -trimpath -ldflags "$ld" -o "$PROVIDERS/pulumi-resource-random" ./cmd/pulumi-resource-random)
  pulumi_install_plugin resource random "$PULUMI_RANDOM_VERSION" "$PROVIDERS/pulumi-resource-random"
}
check_pulumi_random() { installed_pulumi_random; }
installed_pulumi_random() {
  plugin_installed resource random "$PULUMI_RANDOM_VERSION" pulumi-resource-random
}
