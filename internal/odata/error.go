// SPDX-License-Identifier: Apache-2.0

package odata

// Reason tells why an option as a whole was refused.
type Reason int

// The reasons of an OptionError.
const (
	// Unknown: the name is no OData system query option.
	Unknown Reason = iota + 1
	// Unsupported: the option exists but this request does not take it
	// ($filter anywhere, $expand on a host, ...).
	Unsupported
	// Repeated: the option was given twice (possibly once with and once
	// without '$').
	Repeated
)

// OptionError is a query option refused as a whole.
type OptionError struct {
	// Option is the option's name: canonical ("$filter") when it is a known
	// option, as sent otherwise.
	Option string
	Reason Reason
}

// Error returns the client-safe message, which names the option.
func (e *OptionError) Error() string {
	name := clip(e.Option)
	switch e.Reason {
	case Unknown:
		return "Query option '" + name + "' is not supported."
	case Repeated:
		return "Query option '" + name + "' was specified more than once, but it must be specified at most once."
	default:
		return "Query option '" + name + "' is not supported by this request."
	}
}

// SyntaxError is a query option whose value cannot be used.
type SyntaxError struct {
	// Option is the canonical option name, "" when the query string itself
	// is malformed.
	Option string
	// Pos is the byte offset in the option's decoded value where the problem
	// is, -1 when it is not about a position.
	Pos int
	// Msg is the client-safe message; it names the option.
	Msg string
}

// Error returns the client-safe message.
func (e *SyntaxError) Error() string { return e.Msg }
