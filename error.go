// SPDX-License-Identifier: Apache-2.0

package portolan

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status in internal/httpapi.
const (
	EINVALID       = "invalid"        // 400: the request or input is malformed
	EVALIDATION    = "validation"     // 400: a notification endpoint failed the validation handshake
	EUNAUTHORIZED  = "unauthorized"   // 401: no valid credentials
	EFORBIDDEN     = "forbidden"      // 403: valid credentials without the permission
	ENOTFOUND      = "not_found"      // 404: the entity does not exist
	ENOTALLOWED    = "not_allowed"    // 405: the method is not served on the path
	ECONFLICT      = "conflict"       // 409: the change conflicts with stored state
	ENOTACCEPTABLE = "not_acceptable" // 406: no representation the client accepts
	EGONE          = "gone"           // 410: the state a token names is no longer kept
	ETOOLONG       = "too_long"       // 414: the request URL is longer than served
	ETOOLARGE      = "too_large"      // 431: the request's header fields are too large
	ETOOBIG        = "too_big"        // 413: the request body is larger than accepted
	ETOOMANY       = "too_many"       // 429: the caller must slow down
	EINTERNAL      = "internal"       // 500: a bug or an unexpected failure
	EUNAVAILABLE   = "unavailable"    // 503: a dependency (the database) is unreachable; retry
)

// Error is Portolan's one error type. Message is safe to show to a client and
// written as a sentence; Err is the cause, which is only ever logged.
type Error struct {
	Code    string
	Message string
	// Target names what the error is about: a query option, a file, a field.
	Target string
	Err    error
}

// Error implements the error interface.
func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.Target != "" {
		s = e.Target + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error that carries cause for the log and message for
// the client.
func WrapError(code string, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of the first *Error in err's
// chain, and a generic sentence for any other error so that no internal
// detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
