package check_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gapan/gapan/check"
	"github.com/gapan/gapan/internal/testfiles"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/sidecar"
	"github.com/gapan/gapan/simulate"
)

const corpus = "../testdata/corpus/"

// simulated thins zeek-dcerpc-20-fids-no-close (420 frames) by deleting
// frames 5, 17-19, 40-49, 200 and 420: 404 frames left, gaps of 1, 3, 10
// and 1 before the frames that were 6, 20, 50 and 201 (now 5, 16, 36 and
// 186), and a tail of 1.
func simulated(t *testing.T) string {
	t.Helper()
	m, err := simulate.ParseModel("list:5,17-19,40-49,200,420")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sim.pcap")
	if _, err := simulate.Run(simulate.Config{Input: corpus + "zeek-dcerpc-20-fids-no-close.pcap", Output: out, Model: m, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRun: the totals are what simulate deleted.
func TestRun(t *testing.T) {
	capture := simulated(t)
	r, err := check.Run(capture, join.Options{KeepGoing: true})
	if err != nil {
		t.Fatal(err)
	}
	tot := r.Totals
	if tot.FramesCaptured != 404 || tot.GapEvents != 4 || tot.FramesLost != 16 || tot.TailGap != 1 || len(r.Warnings) != 0 {
		t.Fatalf("totals %+v, warnings %v; want 404 captured, 4 gaps, 16 lost, tail 1", tot, r.Warnings)
	}
	if g := tot.LargestGap; g == nil || g.Lost != 10 || g.Frame != 36 || g.PrevFrame != 35 {
		t.Errorf("largest gap %+v, want 10 frames between frames 35 and 36", g)
	}
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"frames captured: 404\n", "gap events:      4\n", "frames lost:     16 (3.810% of the frames that reached the capture point)\n", "tail gap:        1 frame lost after the last frame\n", "10 frames lost between frame 35 ", "trailer present"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["frames_lost"] != 16.0 || got["frames_captured"] != 404.0 || got["loss_unknown_after"] != nil || got["source"] != "simulated" || got["trailer"] != true || len(got["warnings"].([]any)) != 0 {
		t.Errorf("json %s", js.String())
	}
}

// TestRunIncomplete: a sidecar cut after its last record gives the loss
// up to there, says from which frame on it is unknown, and warns.
func TestRunIncomplete(t *testing.T) {
	capture := simulated(t)
	last := testfiles.CutSidecar(t, capture)
	if last != 186 {
		t.Fatalf("last record at frame %d, want 186", last)
	}
	r, err := check.Run(capture, join.Options{KeepGoing: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) == 0 || !errors.Is(r.Warnings[0].Err, sidecar.ErrNoTrailer) || r.Totals.FramesLost != 15 {
		t.Fatalf("warnings %v, totals %+v; want the missing trailer, 15 lost", r.Warnings, r.Totals)
	}
	var text, js bytes.Buffer
	r.WriteText(&text)
	if !strings.Contains(text.String(), "frames lost:     15 recorded, then unknown: loss unknown after frame 186 (the sidecar ends there)") {
		t.Errorf("text:\n%s", text.String())
	}
	if !strings.Contains(text.String(), "tail gap:        unknown: the sidecar ends before the capture\n") {
		t.Errorf("check says a tail on a sidecar without trailer:\n%s", text.String())
	}
	r.WriteJSON(&js)
	if !strings.Contains(js.String(), `"loss_unknown_after": 186`) {
		t.Errorf("json:\n%s", js.String())
	}
}

// TestRunNoSidecar: a capture without a sidecar is a NoSidecarError naming
// the path looked at; another capture's sidecar is join's error, or with
// AllowMismatch a warning.
func TestRunNoSidecar(t *testing.T) {
	capture := simulated(t)
	other := filepath.Join(t.TempDir(), "other.pcap")
	b, _ := os.ReadFile(corpus + "ndpi-kakaotalk-voice-sll.pcap")
	os.WriteFile(other, b, 0o644)
	var ns *check.NoSidecarError
	if _, err := check.Run(other, join.Options{}); !errors.As(err, &ns) || !slices.Equal(ns.Looked, []string{other + ".gaps"}) {
		t.Errorf("no sidecar: %v", err)
	}
	opt := join.Options{Sidecars: []string{capture + ".gaps"}}
	if _, err := check.Run(other, opt); !errors.Is(err, sidecar.ErrIdentity) {
		t.Errorf("another capture's sidecar: %v, want ErrIdentity", err)
	}
	opt.AllowMismatch = true
	r, err := check.Run(other, opt)
	if err != nil || len(r.Warnings) == 0 || !errors.Is(r.Warnings[0].Err, sidecar.ErrIdentity) {
		t.Errorf("AllowMismatch: %v, warnings %v; want ErrIdentity as a warning", err, r)
	}
}

// TestWriteFormats: Write writes the text lines for "text", a JSON object
// for "json", and refuses another format.
func TestWriteFormats(t *testing.T) {
	r, err := check.Run(simulated(t), join.Options{KeepGoing: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(check.Formats) != 2 {
		t.Fatalf("formats %v", check.Formats)
	}
	var text, js bytes.Buffer
	if err := r.Write(&text, "text"); err != nil || !strings.Contains(text.String(), "frames captured: 404\n") {
		t.Errorf("text: %v\n%s", err, text.String())
	}
	var got map[string]any
	if err := r.Write(&js, "json"); err != nil || json.Unmarshal(js.Bytes(), &got) != nil || got["frames_lost"] != 16.0 {
		t.Errorf("json: %v\n%s", err, js.String())
	}
	if err := r.Write(&text, "csv"); err == nil {
		t.Error("csv: no error")
	}
}
