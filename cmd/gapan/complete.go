package main

import (
	"net"
	"strings"

	"github.com/gapan/gapan/recorder"
	"github.com/spf13/cobra"
)

// The --format values of each command; the first is the default.
var (
	reportFormats       = []string{"text", "json", "csv", "ndjson", "markdown", "html"}
	sidecarDumpFormats  = []string{"text", "csv", "json"}
	sidecarCheckFormats = []string{"text", "json"}
)

// formatFlag adds --format taking one of formats (formats[0] by default),
// with shell completion of the values; checkFormat(*p, formats...) is its
// usage rule.
func formatFlag(c *cobra.Command, p *string, formats []string) {
	c.Flags().StringVar(p, "format", formats[0], "output format: "+orList(formats))
	c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// orList joins s as "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// completeInterfaces completes -i with the host's interfaces (those of
// the network namespace gapan runs in) and "any".
func completeInterfaces(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	names := []string{recorder.AnyInterface}
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
