// Command testsum reads `go test -json` events on standard input and
// prints what a person running the whole suite wants to see: one line per
// package, the full output of every failed test, every skipped test with
// its reason, and a closing "N passed, N failed, N skipped" line. It exits
// 1 when any test or package failed (or the input held no test at all), so
// that scripts/test stays red on a failure when its output is piped here.
//
//	go test -json ./... | go run ./scripts/testsum
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json's TestEvent).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

type key struct{ pkg, test string }

type summary struct {
	out                     io.Writer
	output                  map[key][]string // output so far of each running test or package
	skipped                 []skip
	passed, failed, skipCnt int
	failedPkgs              []string
}

type skip struct {
	pkg, test, reason string
}

func main() {
	s := &summary{out: os.Stdout, output: map[key][]string{}}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		e, ok := parse(line)
		if !ok {
			// Not an event: build errors and the like come through as is.
			fmt.Fprintln(s.out, string(line))
			continue
		}
		s.add(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(1)
	}
	os.Exit(s.finish())
}

// parse reads one line of `go test -json`; ok is false for any other line.
func parse(line []byte) (e event, ok bool) {
	if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
		return event{}, false
	}
	return e, true
}

func (s *summary) add(e event) {
	k := key{e.Package, e.Test}
	switch e.Action {
	case "build-output":
		// A package that does not build: its compiler messages.
		fmt.Fprint(s.out, e.Output)
	case "output":
		s.output[k] = append(s.output[k], e.Output)
	case "pass":
		if e.Test == "" {
			fmt.Fprintf(s.out, "ok   %s %.1fs\n", e.Package, e.Elapsed)
		} else {
			s.passed++
		}
		delete(s.output, k)
	case "skip":
		if e.Test == "" {
			fmt.Fprintf(s.out, "ok   %s (no tests)\n", e.Package)
		} else {
			s.skipCnt++
			s.skipped = append(s.skipped, skip{e.Package, e.Test, reason(s.output[k])})
		}
		delete(s.output, k)
	case "fail":
		if e.Test == "" {
			fmt.Fprintf(s.out, "FAIL %s %.1fs\n", e.Package, e.Elapsed)
			s.failedPkgs = append(s.failedPkgs, e.Package)
			// A package that failed outside any test (a panic, a
			// timeout, a build error) says why in its own output.
			fmt.Fprint(s.out, indent(s.output[k]))
		} else {
			s.failed++
			fmt.Fprintf(s.out, "--- FAIL: %s %s\n", e.Package, e.Test)
			fmt.Fprint(s.out, indent(s.output[k]))
		}
		delete(s.output, k)
	}
}

// reason is what a skipped test logged before its "--- SKIP" line: the
// message given to t.Skip, without the file:line prefix.
func reason(lines []string) string {
	var msg []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		if i := strings.Index(t, ": "); i > 0 && strings.Contains(t[:i], ".go:") {
			t = t[i+2:]
		}
		msg = append(msg, t)
	}
	if len(msg) == 0 {
		return "(no reason given)"
	}
	return strings.Join(msg, " / ")
}

func indent(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		if !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "\t") {
			b.WriteString("    ")
		}
		b.WriteString(strings.TrimRight(l, "\n"))
		b.WriteByte('\n')
	}
	return b.String()
}

func (s *summary) finish() int {
	if len(s.skipped) > 0 {
		sort.Slice(s.skipped, func(i, j int) bool {
			if s.skipped[i].pkg != s.skipped[j].pkg {
				return s.skipped[i].pkg < s.skipped[j].pkg
			}
			return s.skipped[i].test < s.skipped[j].test
		})
		fmt.Fprintln(s.out, "skipped:")
		for _, sk := range s.skipped {
			fmt.Fprintf(s.out, "  %s %s: %s\n", sk.pkg, sk.test, sk.reason)
		}
	}
	fmt.Fprintf(s.out, "%d passed, %d failed, %d skipped", s.passed, s.failed, s.skipCnt)
	if len(s.failedPkgs) > 0 {
		fmt.Fprintf(s.out, " (failed packages: %s)", strings.Join(s.failedPkgs, ", "))
	}
	fmt.Fprintln(s.out)
	if s.failed > 0 || len(s.failedPkgs) > 0 || s.passed+s.skipCnt == 0 {
		return 1
	}
	return 0
}
