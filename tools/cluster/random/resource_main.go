// pulumi-resource-random: the runtime provider plugin.
package main

import (
	"context"
	_ "embed" // schema-embed.json

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"mlplatform.local/build/pulumi-random/randomprovider"
)

//go:embed schema-embed.json
var pulumiSchema []byte

func main() {
	pf.Main(context.Background(), "random", randomprovider.Provider(),
		pf.ProviderMetadata{PackageSchema: pulumiSchema})
}
