// Package randomprovider maps the Terraform random provider (plugin framework)
// to Pulumi's `random` package tokens (random:index/randomPassword:RandomPassword,
// ...), the way the published pulumi-random provider does, so that the PyPI
// `pulumi-random` SDK talks to it unchanged. Built by tools/cluster/build.sh
// because github.com/pulumi/pulumi-random/provider/v4 is not on the Go proxy.
package randomprovider

import (
	"context"
	_ "embed" // bridge-metadata.json
	"errors"
	"os"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Version is set with -ldflags -X at build time.
var Version = "0.0.0-dev"

//go:embed bridge-metadata.json
var metadata []byte

// Provider describes the bridged provider.
func Provider() tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:                           pf.ShimProvider(shim.NewProvider()),
		Name:                        "random",
		Description:                 "A Pulumi package to safely use randomness in Pulumi programs.",
		Keywords:                    []string{"pulumi", "random"},
		License:                     "Apache-2.0",
		Homepage:                    "https://pulumi.io",
		Repository:                  "https://github.com/pulumi/pulumi-random",
		Version:                     Version,
		MetadataInfo:                tfbridge.NewProviderMetadata(metadata),
		EnableAccurateBridgePreview: true,
		EnableRawStateDelta:         true,
		// build time only (tfgen reads the upstream docs/ for descriptions)
		UpstreamRepoPath: os.Getenv("MLP_TF_RANDOM_SRC"),
		Resources: map[string]*tfbridge.ResourceInfo{
			"random_string": {
				// states written without a schema version marker: treat as v1
				PreStateUpgradeHook: func(a tfbridge.PreStateUpgradeHookArgs) (int64, resource.PropertyMap, error) {
					if a.PriorStateSchemaVersion == 0 {
						return 1, a.PriorState, nil
					}
					return a.PriorStateSchemaVersion, a.PriorState, nil
				},
			},
			// random_bytes has no `id` attribute: use its base64 value
			"random_bytes": {ComputeID: bytesID},
		},
		Python: &tfbridge.PythonInfo{RespectSchemaVersion: true},
	}
	prov.MustComputeTokens(tokens.SingleModule("random_", "index",
		func(module, name string) (string, error) {
			return tokens.MakeStandard("random")(module, "Random"+name)
		}))
	prov.MustApplyAutoAliases()
	return prov
}

func bytesID(_ context.Context, state resource.PropertyMap) (resource.ID, error) {
	b, ok := state["base64"]
	if !ok {
		return "", errors.New("random_bytes state has no base64 property")
	}
	if b.IsSecret() {
		b = b.SecretValue().Element
	}
	if !b.IsString() {
		return "", errors.New("random_bytes base64 property is not a string")
	}
	return resource.ID(b.StringValue()), nil
}
