package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromium returns the path of a Chromium binary, skipping the test when
// there is none (failing when CI=true).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not installed (Debian: apt-get install chromium); CI=true requires the browser test")
	}
	t.Skip("chromium not installed (Debian: apt-get install chromium)")
	return ""
}

// headless runs Chromium headless on url with extra arguments and returns
// its stdout and stderr. It loads nothing from the network: background
// networking, updates and sync are off.
func headless(t *testing.T, bin, url string, extra ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	args = append(append(args, extra...), url)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
	}
	return out.String(), errb.String()
}

// consoleLines returns the page's console messages (errors, CSP
// violations, uncaught exceptions) from Chromium's log.
func consoleLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, ":CONSOLE") {
			out = append(out, l)
		}
	}
	return out
}

// TestHTMLInBrowser opens the HTML report of the demo capture in headless
// Chromium, checks that it renders with no console message, that its
// script ran (and sorts the flows table), that every figure on the page
// equals the JSON report's, and saves a screenshot (docs/img with -update).
func TestHTMLInBrowser(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()

	t.Run("detects console errors", func(t *testing.T) {
		// The check below must be able to fail: a page with an error.
		bad := filepath.Join(dir, "bad.html")
		os.WriteFile(bad, []byte(`<!DOCTYPE html><body><script>nosuchfunction();</script></body>`), 0o644)
		_, stderr := headless(t, bin, "file://"+bad, "--dump-dom")
		if len(consoleLines(stderr)) == 0 {
			t.Fatalf("an uncaught error went unnoticed; chromium log:\n%s", stderr)
		}
	})

	// From the repository root, so that the page names the demo capture
	// as the README's command does.
	t.Chdir("..")
	r, tl := runWithTimeline(t, []string{"testdata/demo/demo.pcap"})
	page, docJSON := writeHTMLAndJSON(t, r, HTMLOptions{Timeline: tl})
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("numbers equal the JSON report", func(t *testing.T) {
		dom, stderr := headless(t, bin, "file://"+path, "--dump-dom")
		if c := consoleLines(stderr); len(c) > 0 {
			t.Errorf("console messages:\n%s", strings.Join(c, "\n"))
		}
		if !strings.Contains(dom, `data-ready="true"`) {
			t.Error("the page's script did not run to its end")
		}
		if n := checkHTMLAgainstJSON(t, dom, docJSON); n < 350 {
			t.Errorf("compared %d values of the rendered page, want at least 350", n)
		}
	})

	t.Run("mirror sessions", func(t *testing.T) {
		mr := run(t, []string{"testdata/mirror/synth/mirror-loss.pcap"}, true, nil)
		mpage, mjson := writeHTMLAndJSON(t, mr, HTMLOptions{})
		mpath := filepath.Join(dir, "mirror.html")
		if err := os.WriteFile(mpath, []byte(mpage), 0o644); err != nil {
			t.Fatal(err)
		}
		dom, stderr := headless(t, bin, "file://"+mpath, "--dump-dom")
		if c := consoleLines(stderr); len(c) > 0 {
			t.Errorf("console messages:\n%s", strings.Join(c, "\n"))
		}
		if n := checkHTMLAgainstJSON(t, dom, mjson); n < 5*11+8 {
			t.Errorf("compared %d values of the rendered page, want the mirror table's and cards' at least", n)
		}
		// Sorted by session id, ascending: session 7 (first frame 2) first.
		dom, _ = headless(t, bin, "file://"+mpath+"#sort=mirror.session_id.asc", "--dump-dom")
		i := strings.Index(dom, `id="mirror"`)
		if m := regexp.MustCompile(`<tr data-key="(\d+)">`).FindStringSubmatch(dom[i:]); m == nil || m[1] != "2" {
			t.Errorf("mirror table sorted by session id: first row %v, want the session whose first frame is 2", m)
		}
	})

	t.Run("sorts the flows table", func(t *testing.T) {
		for _, tc := range []struct{ dir, first string }{{"asc", "0"}, {"desc", "1"}} {
			dom, stderr := headless(t, bin, "file://"+path+"#sort=flows.flow_id."+tc.dir, "--dump-dom")
			if c := consoleLines(stderr); len(c) > 0 {
				t.Errorf("console messages:\n%s", strings.Join(c, "\n"))
			}
			i := strings.Index(dom, `id="flows"`)
			m := regexp.MustCompile(`<tr data-key="(\d+)">`).FindStringSubmatch(dom[i:])
			if m == nil || m[1] != tc.first {
				t.Errorf("sorted %s by flow id, first row %v, want flow %s", tc.dir, m, tc.first)
			}
			if !strings.Contains(dom[i:], `aria-sort="`+map[string]string{"asc": "ascending", "desc": "descending"}[tc.dir]+`"`) {
				t.Error("sorted column not marked")
			}
		}
	})

	t.Run("every flows column is reachable", func(t *testing.T) {
		// A probe script (the page's policy allows inline scripts) notes
		// the flows table's box and its last heading's right edge.
		probe := `<script>window.addEventListener("load", function () {
  var t = document.getElementById("flows"), w = t.parentElement, hs = t.tHead.rows[0].cells;
  var last = hs[hs.length - 1].getBoundingClientRect(), box = w.getBoundingClientRect();
  document.body.setAttribute("data-probe", [Math.round(last.right), Math.round(box.right), w.scrollWidth, w.clientWidth, getComputedStyle(w).overflowX].join(" "));
});</script></body>`
		probed := filepath.Join(dir, "probe.html")
		if err := os.WriteFile(probed, []byte(strings.Replace(page, "</body>", probe, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			width int
			fits  bool
		}{{1400, true}, {700, false}} {
			dom, _ := headless(t, bin, "file://"+probed, "--dump-dom", fmt.Sprintf("--window-size=%d,2000", tc.width))
			m := regexp.MustCompile(`data-probe="(\d+) (\d+) (\d+) (\d+) (\w+)"`).FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("width %d: no probe in the page", tc.width)
			}
			lastRight, boxRight, scrollW, clientW := atoi(t, m[1]), atoi(t, m[2]), atoi(t, m[3]), atoi(t, m[4])
			t.Logf("width %d: last heading ends at %d px, table box at %d px; scroll width %d in %d, overflow-x %s", tc.width, lastRight, boxRight, scrollW, clientW, m[5])
			switch {
			case tc.fits && lastRight > boxRight:
				t.Errorf("width %d: the last flows column ends at %d px, past the table's box at %d px", tc.width, lastRight, boxRight)
			case !tc.fits && (scrollW <= clientW || m[5] != "auto" && m[5] != "scroll"):
				t.Errorf("width %d: the flows table (%d px in %d) does not scroll sideways (overflow-x %s)", tc.width, scrollW, clientW, m[5])
			}
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		shot := filepath.Join(os.TempDir(), "gapan-report-demo.png")
		_, stderr := headless(t, bin, "file://"+path, "--screenshot="+shot, "--window-size=1400,2000", "--hide-scrollbars")
		if c := consoleLines(stderr); len(c) > 0 {
			t.Errorf("console messages:\n%s", strings.Join(c, "\n"))
		}
		b, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 20000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Fatalf("screenshot %s: %d bytes, not a plausible PNG", shot, len(b))
		}
		t.Logf("screenshot of the demo report: %s", shot)
		if *update {
			dst := filepath.Join("docs", "img", "report-demo.png")
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
