// SPDX-License-Identifier: Apache-2.0

package merge

import "portolan"

// The not-found error of each entity: one sentence per entity, the same
// from every store, which the API returns as 404 ResourceNotFound. The
// entity names are Graph's type names as clients know them.

// HostNotFound is the error of a host never observed (intelligence.md §7),
// for the host and for everything listed under it.
func HostNotFound(id string) error { return notFound("Host", id) }

// HostPortNotFound is the error of a hostPort id that names no record.
func HostPortNotFound(id string) error { return notFound("HostPort", id) }

// HostComponentNotFound is the error of a hostComponent id that names no
// record.
func HostComponentNotFound(id string) error { return notFound("HostComponent", id) }

// SSLCertificateNotFound is the error of an sslCertificate id that names no
// certificate.
func SSLCertificateNotFound(id string) error { return notFound("SslCertificate", id) }

// HostSSLCertificateNotFound is the error of a hostSslCertificate id that
// names no (host, certificate) pair.
func HostSSLCertificateNotFound(id string) error { return notFound("HostSslCertificate", id) }

// PortOfHostNotFound is the error of a hostPort that exists but is not one
// of the host's ports (see PortOfHost). id is shown as the client sent it,
// clipped by the caller when it is long.
func PortOfHostNotFound(host, id string) error {
	return portolan.Errorf(portolan.ENOTFOUND, "Host '%s' has no port with id '%s'.", host, id)
}

func notFound(entity, id string) error {
	return portolan.Errorf(portolan.ENOTFOUND, "%s '%s' was not found.", entity, id)
}
