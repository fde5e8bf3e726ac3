// SPDX-License-Identifier: Apache-2.0

package sqlstore

import (
	"strings"

	"portolan"
)

// RedundantComponent is the condition under which the port_components row
// named v (an alias, or the table itself) is redundant beside another row of its port: the SQL both
// stores delete such rows with after merging a batch's components, so that
// a port lists one product once whichever observation named which
// (portolan.Component.RedundantBeside restated). The distributions are
// literals from the domain's list: constants, never input.
//
// Each EXISTS ends in LIMIT 1 OFFSET 0, which changes nothing of its result
// and keeps PostgreSQL from turning it into a hashed subplan: not knowing
// how few rows a batch's staging table holds, it read every component of
// the store into a hash table once an import (177 ms an import at a
// million hostPorts, growing with the store) where a lookup by key a row
// is what a batch needs. An OFFSET is what makes its planner leave an
// EXISTS as it is written.
func RedundantComponent(v string) string {
	samePort := "w.host = " + v + ".host AND w.port = " + v + ".port AND w.protocol = " + v + ".protocol"
	distributions := make([]string, 0, 16)
	for _, name := range portolan.LinuxDistributions() {
		distributions = append(distributions, quote(name))
	}
	os := quote(portolan.CategoryOperatingSystem)
	const asWritten = " LIMIT 1 OFFSET 0"
	return "((" + v + ".version = '' AND EXISTS (SELECT 1 FROM port_components w WHERE " + samePort +
		" AND w.name = " + v + ".name AND w.category = " + v + ".category AND w.version <> ''" + asWritten + "))" +
		" OR (" + v + ".name = 'Linux' AND " + v + ".category = " + os +
		" AND EXISTS (SELECT 1 FROM port_components w WHERE " + samePort +
		" AND w.category = " + os + " AND w.name IN (" + strings.Join(distributions, ", ") + ")" + asWritten + ")))"
}

// quote returns s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
