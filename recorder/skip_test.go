package recorder

import (
	"os"
	"testing"
)

// skipOrFailAnyOS skips with reason, or fails when CI=true.
func skipOrFailAnyOS(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s", reason)
	}
	t.Skip(reason)
}
