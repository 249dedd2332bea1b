package main

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/sidecar"
	"github.com/spf13/cobra"
)

// expandCaptures applies join.ExpandCaptures, the one rule for capture
// arguments (a directory means its captures, a sidecar among captures is
// left out), and prints its notes on stderr.
func expandCaptures(stderr io.Writer, args []string) ([]string, error) {
	caps, notes, err := join.ExpandCaptures(args)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "gapan: note: %v\n", n)
	}
	return caps, nil
}

// sidecarFlagNames reports whether cmd's --sidecar was given path.
func sidecarFlagNames(cmd *cobra.Command, path string) bool {
	f := cmd.Flags().Lookup("sidecar")
	if f == nil || !f.Changed {
		return false
	}
	if sv, ok := f.Value.(interface{ GetSlice() []string }); ok {
		return slices.Contains(sv.GetSlice(), path)
	}
	return f.Value.String() == path
}

// explain turns the library's errors about what was given into what the
// user should type: a sidecar given as a capture or a capture given as a
// sidecar become usage errors suggesting the command with the right file,
// and a sidecar that does not belong to its capture names --allow-mismatch
// where cmd has it.
func explain(cmd *cobra.Command, err error) error {
	var sc *join.IsSidecarError
	var cg *sidecar.CaptureGivenError
	switch {
	case errors.As(err, &sc) && sc.Capture != "":
		return usagef("%s is a gap sidecar, not a capture; did you mean \"%s %s\"?", sc.Path, cmd.CommandPath(), sc.Capture)
	case errors.As(err, &cg) && cg.Sidecar != "" && sidecarFlagNames(cmd, cg.File):
		return usagef("%s is a %s, not a gap sidecar; did you mean \"--sidecar %s\"?", cg.File, cg.Kind, cg.Sidecar)
	case errors.As(err, &cg) && cg.Sidecar != "" && cmd.Name() != "import": // import reads the text form
		return usagef("%s is a %s, not a gap sidecar; did you mean \"%s %s\"?", cg.File, cg.Kind, cmd.CommandPath(), cg.Sidecar)
	case errors.Is(err, join.ErrIsSidecar), errors.Is(err, sidecar.ErrIsCapture), errors.Is(err, join.ErrDirectory), errors.Is(err, join.ErrNoCapture):
		return usageError{err}
	case errors.Is(err, join.ErrMismatch) && cmd.Flags().Lookup("allow-mismatch") != nil:
		return fmt.Errorf("%w (--allow-mismatch uses it anyway, with a warning)", err)
	}
	return err
}
