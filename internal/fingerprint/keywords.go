// SPDX-License-Identifier: Apache-2.0

package fingerprint

import "fmt"

// keywordMatcher finds, in one pass over a text, which rules have at least
// one of their keywords in it: an Aho-Corasick automaton over ASCII-folded
// bytes, turned into a full DFA at Load. One pass costs the same whatever the
// number of rules, which is what lets Recognize skip every regexp whose rule
// cannot match; with a separate strings.Index per keyword the cost would grow
// with the rule file.
type keywordMatcher struct {
	// class maps a byte to its column in delta. Bytes no keyword uses share
	// column 0, and upper-case ASCII letters share the column of their
	// lower-case letter, which is how matching ignores ASCII case. Keeping
	// the columns few keeps delta small enough to stay in cache.
	class  [256]uint16
	nclass int
	// delta[s*nclass+c] is the state after reading a byte of class c in
	// state s (state 0 is the root), stored premultiplied by nclass so that
	// the scan's critical path is one add and one load per byte, with
	// hasOutput set when the state ends a keyword. Every transition is
	// filled in, so the scan never follows a failure link.
	delta []uint32
	// out[s] lists the rules whose keyword ends at state s, including those
	// reached through failure links; nil for most states.
	out [][]uint32
}

// hasOutput flags, in delta, a state where some keyword ends.
const hasOutput = 1 << 31

// maxStates bounds the automaton so that premultiplied states fit delta's
// 31 bits with any number of classes. It is far beyond what any rule file
// needs (the default one has about 1,100 states).
const maxStates = 1 << 22

// newKeywordMatcher builds the automaton of keywords, where keywords[i] are
// the keywords of rule ruleIDs[i]. Keywords must be non-empty.
func newKeywordMatcher(keywords [][]string, ruleIDs []int) (*keywordMatcher, error) {
	m := &keywordMatcher{nclass: 1}
	for _, kws := range keywords {
		for _, kw := range kws {
			for i := 0; i < len(kw); i++ {
				b := lowerASCII(kw[i])
				if m.class[b] == 0 {
					m.class[b] = uint16(m.nclass)
					m.nclass++
				}
			}
		}
	}
	for b := 'A'; b <= 'Z'; b++ {
		m.class[b] = m.class[b+'a'-'A']
	}

	// The trie, with -1 for a missing edge until the DFA is completed.
	const none = -1
	trie := make([]int32, m.nclass)
	for i := range trie {
		trie[i] = none
	}
	outs := [][]uint32{nil}
	for k, kws := range keywords {
		for _, kw := range kws {
			s := int32(0)
			for i := 0; i < len(kw); i++ {
				c := int32(m.class[kw[i]])
				next := trie[s*int32(m.nclass)+c]
				if next == none {
					if len(outs) >= maxStates {
						return nil, fmt.Errorf("keywords need more than %d automaton states", maxStates)
					}
					next = int32(len(outs))
					outs = append(outs, nil)
					for j := 0; j < m.nclass; j++ {
						trie = append(trie, none)
					}
					trie[s*int32(m.nclass)+c] = next
				}
				s = next
			}
			outs[s] = appendUnique(outs[s], uint32(ruleIDs[k]))
		}
	}

	// Breadth-first, each state's missing edges are those of its failure
	// state, which is shallower and therefore already complete.
	n := int32(m.nclass)
	fail := make([]int32, len(outs))
	queue := make([]int32, 0, len(outs))
	for c := int32(0); c < n; c++ {
		if t := trie[c]; t == none {
			trie[c] = 0
		} else {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for c := int32(0); c < n; c++ {
			t := trie[s*n+c]
			if t == none {
				trie[s*n+c] = trie[fail[s]*n+c]
				continue
			}
			fail[t] = trie[fail[s]*n+c]
			for _, id := range outs[fail[t]] {
				outs[t] = appendUnique(outs[t], id)
			}
			queue = append(queue, t)
		}
	}
	m.delta = make([]uint32, len(trie))
	for i, t := range trie {
		m.delta[i] = uint32(t) * uint32(n)
		if outs[t] != nil {
			m.delta[i] |= hasOutput
		}
	}
	m.out = outs
	return m, nil
}

// scan sets, in hits, the bit of every rule with a keyword in text.
func (m *keywordMatcher) scan(text string, hits []uint64) {
	delta, class := m.delta, &m.class
	off := uint32(0)
	for i := 0; i < len(text); i++ {
		v := delta[off+uint32(class[text[i]])]
		off = v &^ hasOutput
		if v&hasOutput != 0 {
			for _, id := range m.out[off/uint32(m.nclass)] {
				hits[id>>6] |= 1 << (id & 63)
			}
		}
	}
}

func appendUnique(ids []uint32, id uint32) []uint32 {
	for _, x := range ids {
		if x == id {
			return ids
		}
	}
	return append(ids, id)
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// containsFold reports whether s contains sub, ignoring ASCII case; sub must
// already be lower case. It is for the short texts of certificate fields and
// for the rare "unless" checks, where building an automaton is not worth it.
func containsFold(s, sub string) bool {
	if len(sub) == 0 {
		return true
	}
	first := sub[0]
	for i := 0; i+len(sub) <= len(s); i++ {
		if lowerASCII(s[i]) != first {
			continue
		}
		j := 1
		for j < len(sub) && lowerASCII(s[i+j]) == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}
