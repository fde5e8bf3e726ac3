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
func RedundantComponent(v string) string {
	samePort := "w.host = " + v + ".host AND w.port = " + v + ".port AND w.protocol = " + v + ".protocol"
	distributions := make([]string, 0, 16)
	for _, name := range portolan.LinuxDistributions() {
		distributions = append(distributions, quote(name))
	}
	os := quote(portolan.CategoryOperatingSystem)
	return "((" + v + ".version = '' AND EXISTS (SELECT 1 FROM port_components w WHERE " + samePort +
		" AND w.name = " + v + ".name AND w.category = " + v + ".category AND w.version <> ''))" +
		" OR (" + v + ".name = 'Linux' AND " + v + ".category = " + os +
		" AND EXISTS (SELECT 1 FROM port_components w WHERE " + samePort +
		" AND w.category = " + os + " AND w.name IN (" + strings.Join(distributions, ", ") + "))))"
}

// quote returns s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
