// pulumi-tfgen-random: build-time schema generator (`schema --out DIR` writes
// schema.json and bridge-metadata.json).
package main

import (
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"mlplatform.local/build/pulumi-random/randomprovider"
)

func main() { pftfgen.Main("random", randomprovider.Provider()) }
