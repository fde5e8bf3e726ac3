// SPDX-License-Identifier: Apache-2.0

// Package spell finds the name a user probably meant, for "did you mean"
// hints in the command line (commands, flags, formats) and in the API's 404s
// (host for hosts). It is its own package so that both share one rule.
package spell

import "strings"

// Closest returns the candidate nearest to got, ignoring case, when it is a
// near miss: at most two edits, and never most of the word ("x" is not
// "serve"). A name that differs only in case is one ("Token" for "token");
// an exact match is not.
func Closest(got string, candidates []string) (string, bool) {
	best, bestD := "", 0
	for _, c := range candidates {
		if d := distance(strings.ToLower(got), strings.ToLower(c)); best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || best == got || bestD > 2 || bestD*2 > len([]rune(best)) {
		return "", false
	}
	return best, true
}

// distance is the Levenshtein distance of a and b, by runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
