//go:build race

package main

// raceEnabled: the race detector multiplies memory, so the memory budgets
// cannot be measured.
const raceEnabled = true
