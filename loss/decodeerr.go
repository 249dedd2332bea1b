package loss

import (
	"errors"
	"slices"
	"strings"

	"github.com/gapan/gapan/decode"
)

// DecodeError is one reason why frames failed to decode, and how many did.
// Such a frame is still counted (captured, in the timeline, in a flow by
// what was decoded of it), but its headers past Reason's layer are unknown.
type DecodeError struct {
	// Reason is the layer at which decoding stopped and why:
	// "ipv4: truncated" (the frame ends inside the header), "tcp:
	// malformed" (an invalid length or version field), "link: unsupported
	// link type".
	Reason string `json:"reason"`
	Frames uint64 `json:"frames"`
}

// decodeKinds are the errors of decode.Decoder.Decode, in the order of
// decodeErrors' rows.
var decodeKinds = [...]struct {
	err  error
	word string
}{{decode.ErrTruncated, "truncated"}, {decode.ErrMalformed, "malformed"}, {decode.ErrLinkType, "unsupported link type"}}

// decodeLayers bounds the decode.Layer values counted apart; a larger one
// (none today) is counted with the last.
const decodeLayers = 16

// decodeErrors counts the frames that failed to decode by error and layer:
// fixed arrays, so that counting allocates nothing.
type decodeErrors struct {
	n [len(decodeKinds) + 1][decodeLayers]uint64 // last row: any other error
}

// add counts one frame whose decoding returned err at layer l.
func (d *decodeErrors) add(err error, l decode.Layer) {
	k := len(decodeKinds)
	for i := range decodeKinds {
		if errors.Is(err, decodeKinds[i].err) {
			k = i
			break
		}
	}
	d.n[k][min(int(l), decodeLayers-1)]++
}

// list returns the counts by reason, most frames first, then by reason.
func (d *decodeErrors) list() []DecodeError {
	var out []DecodeError
	for k := range d.n {
		for l, n := range d.n[k] {
			if n == 0 {
				continue
			}
			word := "failed"
			if k < len(decodeKinds) {
				word = decodeKinds[k].word
			}
			out = append(out, DecodeError{Reason: decode.Layer(l).String() + ": " + word, Frames: n})
		}
	}
	slices.SortFunc(out, func(a, b DecodeError) int {
		if a.Frames != b.Frames {
			if a.Frames > b.Frames {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return out
}
