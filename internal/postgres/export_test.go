// SPDX-License-Identifier: Apache-2.0

package postgres

import "portolan/internal/sqlfilter"

// Dialect and Tables are the store's search SQL, for tests of its plans.
func Dialect() *sqlfilter.Dialect { return dialect }
func Tables() sqlfilter.Tables    { return tables }
