-- The append-only observation log. observation_ids holds the identity
-- digest of every observation ever stored (intelligence.md §2), which is
-- what makes re-ingesting a no-op; observation_log holds the observations
-- themselves, as normalised, one blob per import (see logcodec.go). Records
-- are derived from the log and can be rebuilt from it.
CREATE TABLE observation_ids (
	identity BLOB PRIMARY KEY
) WITHOUT ROWID;

CREATE TABLE observation_log (
	seq         INTEGER PRIMARY KEY,
	count       INTEGER NOT NULL,
	data        BLOB    NOT NULL,
	imported_at INTEGER NOT NULL
);

-- One row per (host, protocol, port) ever observed. A row is a hostPort
-- record only once an open observation arrived (first_seen not NULL); rows
-- of ports seen only closed or filtered keep their scan figures so that the
-- order of ingestion does not matter.
CREATE TABLE host_ports (
	host           TEXT    NOT NULL,
	port           INTEGER NOT NULL,
	protocol       TEXT    NOT NULL,
	first_seen     INTEGER,
	last_seen      INTEGER,
	last_scan      INTEGER NOT NULL,
	instants       BLOB,             -- distinct open seenAt (instants.go)
	times_observed INTEGER NOT NULL, -- their count
	status_at      INTEGER NOT NULL,
	status_rank    INTEGER NOT NULL,
	cert_seen      INTEGER,
	cert_sha1      TEXT,
	PRIMARY KEY (host, port, protocol)
) WITHOUT ROWID;

CREATE TABLE banners (
	host           TEXT    NOT NULL,
	port           INTEGER NOT NULL,
	protocol       TEXT    NOT NULL,
	digest         BLOB    NOT NULL, -- of (normalised text, scan protocol)
	banner         TEXT    NOT NULL,
	scan_protocol  TEXT    NOT NULL,
	first_seen     INTEGER NOT NULL,
	last_seen      INTEGER NOT NULL,
	instants       BLOB    NOT NULL,
	times_observed INTEGER NOT NULL,
	PRIMARY KEY (host, port, protocol, digest)
);

CREATE TABLE port_components (
	host       TEXT    NOT NULL,
	port       INTEGER NOT NULL,
	protocol   TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	version    TEXT    NOT NULL,
	category   TEXT    NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (host, port, protocol, name, version, category)
) WITHOUT ROWID;

CREATE TABLE host_components (
	host       TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	version    TEXT    NOT NULL,
	category   TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (host, name, version, category)
) WITHOUT ROWID;
CREATE UNIQUE INDEX host_components_id ON host_components (id);

-- Every host observed; first/last seen over its open observations (NULL
-- when it was only ever seen closed or filtered).
CREATE TABLE hosts (
	id         TEXT PRIMARY KEY,
	first_seen INTEGER,
	last_seen  INTEGER
) WITHOUT ROWID;

-- Hostnames scanners associated with addresses.
CREATE TABLE host_aliases (
	name       TEXT NOT NULL,
	address    TEXT NOT NULL,
	first_seen INTEGER,
	last_seen  INTEGER,
	PRIMARY KEY (name, address)
) WITHOUT ROWID;

CREATE TABLE certificates (
	sha1       TEXT PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	der        BLOB NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL
);

-- The $search index of certificates (portolan.CertificateSearchTerms).
CREATE TABLE certificate_terms (
	field TEXT NOT NULL,
	value TEXT NOT NULL,
	sha1  TEXT NOT NULL,
	PRIMARY KEY (field, value, sha1)
) WITHOUT ROWID;

-- Where each certificate was seen: per host and port.
CREATE TABLE host_certificates (
	host       TEXT    NOT NULL,
	sha1       TEXT    NOT NULL,
	port       INTEGER NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (host, sha1, port)
) WITHOUT ROWID;
CREATE INDEX host_certificates_sha1 ON host_certificates (sha1, host);
