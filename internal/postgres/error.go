// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"portolan"
)

// unavailableMessage is what a client is told while the database cannot be
// reached; httpapi turns the EUNAVAILABLE code into 503 serviceNotAvailable.
const unavailableMessage = "The database is unavailable; try again."

// storeError normalises driver errors once, at the storage boundary:
//   - a lost or refused connection, a server shutting down or starting up,
//     or too many connections become EUNAVAILABLE (retryable: the pool
//     reconnects by itself when the server is back);
//   - a deadlock or serialization failure that survived the retries becomes
//     EUNAVAILABLE too ("busy");
//   - a full disk says so;
//   - anything else is internal, with the cause kept for the log.
//
// Context errors are returned as they are, so that a canceled request stays
// a canceled request.
func storeError(what string, err error) error {
	if err == nil {
		return nil
	}
	var pe *portolan.Error
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	cause := fmt.Errorf("postgres: %s: %w", what, err)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case strings.HasPrefix(code, "08"), // connection exception
			code == "57P01", // admin_shutdown: the server is stopping
			code == "57P02", // crash_shutdown
			code == "57P03", // cannot_connect_now: starting up or in recovery
			code == "53300": // too_many_connections
			return portolan.WrapError(portolan.EUNAVAILABLE, cause, unavailableMessage)
		case code == "40P01" || code == "40001":
			return portolan.WrapError(portolan.EUNAVAILABLE, cause, "The database is busy; try again.")
		case strings.HasPrefix(code, "23"), // integrity constraint
			code == "22001", code == "22003", // a string too long, a number out of range
			code == "22021", code == "22P05": // a byte sequence or character the encoding refuses
			// A record the database will not hold, which ingest isolates
			// and stores the rest of its batch without. Other data
			// exceptions (a bad cast in a query, say) stay internal.
			return portolan.WrapError(portolan.ECONFLICT, cause, "The database refused a value (%s %s).", code, pgErr.ConstraintName)
		case code == "53100":
			return portolan.WrapError(portolan.EINTERNAL, cause, "The disk of the PostgreSQL server is full.")
		}
		// Any other server error (authentication, a missing database, a
		// bug in our SQL) is not cured by waiting.
		return cause
	}
	if isConnectionError(err) {
		return portolan.WrapError(portolan.EUNAVAILABLE, cause, unavailableMessage)
	}
	return cause
}

// isConnectionError reports whether err is the loss (or the refusal) of the
// connection to the server rather than an answer from it.
func isConnectionError(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr),
		pgconn.SafeToRetry(err), // failed before anything was sent
		errors.Is(err, pgconn.ErrConnClosed),
		errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}

// isRetryable reports whether a transaction failed only because it
// collided with another one and may simply run again.
func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}
