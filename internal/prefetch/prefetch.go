// Package prefetch asks the processor to bring a cache line closer
// without waiting for it: the flow accounting names the lines of the
// frames a few places ahead while it accounts the current one, so that
// their cache misses are on their way, several at a time, instead of
// stopping the accounting one after the other.
//
//	prefetch.Line(unsafe.Pointer(&rec)) // hint only: never faults, changes nothing
//
// On amd64 it is the PREFETCHT0 instruction, on arm64 PRFM PLDL1KEEP:
// neither holds up the instructions after it. Elsewhere it does nothing.
package prefetch
