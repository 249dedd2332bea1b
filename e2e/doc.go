// Package e2e holds gapan's end-to-end tests: real Linux TCP between
// network namespaces the tests create, with loss made by the network (an
// nftables rule on a router namespace, whose counter is the truth) and by
// the capture (the recorder's kernel drops), checked against gapan's
// report. They need root; they skip without it, and fail under CI=true.
package e2e
