//go:build !linux

package recorder

import (
	"context"
	"fmt"
	"runtime"
)

// Run captures frames from a live interface; it needs Linux's AF_PACKET
// sockets and returns an error wrapping ErrUnsupported elsewhere.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	return Stats{}, fmt.Errorf("%w: live capture needs Linux (AF_PACKET with SO_RXQ_OVFL), not %s", ErrUnsupported, runtime.GOOS)
}
