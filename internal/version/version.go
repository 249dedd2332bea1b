// Package version says which gapan this is: the release, set at build
// time, and the VCS revision Go recorded in the binary.
//
//	fmt.Println("gapan", version.String()) // gapan 0.1.0-dev+0123456789ab
package version

import "runtime/debug"

// Release is gapan's release, set at build time with
// -ldflags "-X github.com/gapan/gapan/internal/version.Release=...".
var Release = "0.1.0-dev"

// String returns Release with the VCS revision the binary was built
// from, when Go recorded it.
func String() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Release
	}
	return withRevision(Release, bi.Settings)
}

// withRevision appends to release "+" and the first 12 digits of the
// vcs.revision among settings, when there is one that long.
func withRevision(release string, settings []debug.BuildSetting) string {
	for _, s := range settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			release += "+" + s.Value[:12]
		}
	}
	return release
}
