// SPDX-License-Identifier: Apache-2.0

package naabu_test

import "fmt"

func fmtLine(format string, port int) string { return fmt.Sprintf(format, port) }
