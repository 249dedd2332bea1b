package main

import (
	"strings"
	"testing"
)

// A stream as `go test -json` writes it (abridged): one passing test, a
// skipped one with its reason, a failing subtest and a package that
// failed outside any test.
const stream = `{"Action":"run","Package":"p/a","Test":"TestOK"}
{"Action":"output","Package":"p/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"p/a","Test":"TestOK","Elapsed":0.01}
{"Action":"run","Package":"p/a","Test":"TestRoot"}
{"Action":"output","Package":"p/a","Test":"TestRoot","Output":"=== RUN   TestRoot\n"}
{"Action":"output","Package":"p/a","Test":"TestRoot","Output":"    x_test.go:12: needs root: opens a packet socket\n"}
{"Action":"output","Package":"p/a","Test":"TestRoot","Output":"--- SKIP: TestRoot (0.00s)\n"}
{"Action":"skip","Package":"p/a","Test":"TestRoot","Elapsed":0}
{"Action":"pass","Package":"p/a","Elapsed":0.5}
{"Action":"run","Package":"p/b","Test":"TestBad/sub"}
{"Action":"output","Package":"p/b","Test":"TestBad/sub","Output":"    y_test.go:9: got 3, want 4\n"}
{"Action":"fail","Package":"p/b","Test":"TestBad/sub","Elapsed":0}
{"Action":"fail","Package":"p/b","Test":"TestBad","Elapsed":0}
{"Action":"output","Package":"p/c","Output":"panic: boom\n"}
{"Action":"fail","Package":"p/c","Elapsed":1.2}
`

func TestSummary(t *testing.T) {
	var b strings.Builder
	s := &summary{out: &b, output: map[key][]string{}}
	for _, line := range strings.Split(strings.TrimSpace(stream), "\n") {
		e, ok := parse([]byte(line))
		if !ok {
			t.Fatalf("not an event: %s", line)
		}
		s.add(e)
	}
	code := s.finish()
	got := b.String()
	for _, want := range []string{
		"ok   p/a 0.5s\n",
		"--- FAIL: p/b TestBad/sub\n    y_test.go:9: got 3, want 4\n",
		"FAIL p/c 1.2s\n    panic: boom\n",
		"skipped:\n  p/a TestRoot: needs root: opens a packet socket\n",
		"1 passed, 2 failed, 1 skipped (failed packages: p/c)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}

func TestSummaryAllPass(t *testing.T) {
	var b strings.Builder
	s := &summary{out: &b, output: map[key][]string{}}
	if code := s.finish(); code != 1 {
		t.Errorf("no test at all: exit code %d, want 1", code)
	}
	e, _ := parse([]byte(`{"Action":"pass","Package":"p","Test":"TestX"}`))
	s.add(e)
	if code := s.finish(); code != 0 {
		t.Errorf("one pass: exit code %d, want 0", code)
	}
}
