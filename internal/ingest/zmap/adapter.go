// SPDX-License-Identifier: Apache-2.0

package zmap

import (
	"time"

	"portolan"
)

// portKey identifies one observation of the file.
type portKey struct {
	saddr string
	proto portolan.Protocol
	port  int
}

// portState accumulates the answers of one port.
type portState struct {
	key         portKey
	first, last time.Time
	open        bool // any successful answer
}

// aggregator holds the per-port state of the file, in the order the ports
// first appeared.
type aggregator struct {
	index map[portKey]int
	ports []portState
}

func newAggregator() aggregator {
	return aggregator{index: make(map[portKey]int)}
}

// add folds one answer into the state of its port: retransmissions
// (repeat=1) and any other answer of the same port extend its window.
func (g *aggregator) add(a *answer) {
	k := portKey{saddr: a.saddr, proto: a.proto, port: a.port}
	i, ok := g.index[k]
	if !ok {
		i = len(g.ports)
		g.index[k] = i
		g.ports = append(g.ports, portState{key: k, first: a.at, last: a.at})
	}
	st := &g.ports[i]
	if a.at.Before(st.first) {
		st.first = a.at
	}
	if a.at.After(st.last) {
		st.last = a.at
	}
	st.open = st.open || a.success
}

// observations turns the state into one observation per port.
func (g *aggregator) observations() []*portolan.Observation {
	out := make([]*portolan.Observation, 0, len(g.ports))
	for i := range g.ports {
		st := &g.ports[i]
		o := &portolan.Observation{
			Host:      st.key.saddr,
			Port:      st.key.port,
			Protocol:  st.key.proto,
			Status:    portolan.StatusClosed,
			SeenAt:    st.first,
			ScannedAt: st.last,
			Source:    Source,
		}
		if st.open {
			o.Status = portolan.StatusOpen
		}
		out = append(out, o)
	}
	return out
}
