-- Portolan's PostgreSQL schema. Every table of per-host data has the host as
-- the first column of its primary key and no table refers to another, so
-- that the schema can be distributed by host on Citus (README-schema.md):
-- an import or a read about one host touches one shard. Nothing is
-- numbered by a sequence.
--
-- Text keys use the "C" collation: paging and ids are compared byte by
-- byte, as Go compares strings, whatever the database's locale.
--
-- Instants are timestamptz, whole seconds in practice (observations are
-- truncated to the second). Nullable first_seen/last_seen mean "never seen
-- open".

-- The append-only log of observations, one row per observation, keyed by
-- its identity digest (intelligence.md §2). The primary key is what makes
-- re-ingesting a no-op: an import inserts its rows with ON CONFLICT DO
-- NOTHING and merges only those that went in. A separate identity index
-- plus one log blob per import would cost a second write per import and
-- row per host; carrying the observation in the identity row costs almost
-- nothing more than the index entry the dedup needs anyway, and keeps a
-- host's history in one range of the key. data is the observation encoded
-- as in logcodec.go. Rebuild replays every row: the merge rules do not
-- depend on order, so the log needs no global order (and no sequence).
CREATE TABLE observation_log (
	host        text COLLATE "C" NOT NULL,
	identity    bytea NOT NULL,
	data        bytea NOT NULL,
	imported_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (host, identity)
);

-- Every host observed; first/last seen over its open observations (NULL
-- when it was only ever seen closed or filtered). The tables updated at
-- every rescan leave room in their pages so that updates stay HOT.
CREATE TABLE hosts (
	host       text COLLATE "C" NOT NULL,
	first_seen timestamptz,
	last_seen  timestamptz,
	PRIMARY KEY (host)
) WITH (fillfactor = 80);

-- Hostnames scanners associated with addresses, keyed by the name: the
-- name is the host whose requests (hosts/{name}/ports) read this table.
CREATE TABLE host_aliases (
	host       text COLLATE "C" NOT NULL, -- the hostname
	address    text COLLATE "C" NOT NULL,
	first_seen timestamptz,
	last_seen  timestamptz,
	PRIMARY KEY (host, address)
) WITH (fillfactor = 80);

-- One row per (host, port, protocol) ever observed. A row is a hostPort
-- record only once an open observation arrived (first_seen not NULL); rows
-- of ports seen only closed or filtered keep their scan figures so that the
-- order of ingestion does not matter.
CREATE TABLE host_ports (
	host           text COLLATE "C" NOT NULL,
	port           integer NOT NULL,
	protocol       text COLLATE "C" NOT NULL,
	first_seen     timestamptz,
	last_seen      timestamptz,
	last_scan      timestamptz NOT NULL,
	times_observed integer NOT NULL,
	status_at      timestamptz NOT NULL,
	status_rank    smallint NOT NULL,
	cert_seen      timestamptz,
	cert_sha1      text COLLATE "C",
	created_batch  bigint, -- the import that made it a record, for counting
	PRIMARY KEY (host, port, protocol)
) WITH (fillfactor = 80);

-- Distinct instants at which a port was seen open (timesObserved): an
-- import counts the rows its INSERT ... ON CONFLICT DO NOTHING added.
CREATE TABLE port_instants (
	host     text COLLATE "C" NOT NULL,
	port     integer NOT NULL,
	protocol text COLLATE "C" NOT NULL,
	seen_at  timestamptz NOT NULL,
	PRIMARY KEY (host, port, protocol, seen_at)
);

-- Banners are keyed by a digest of (normalised text, scan protocol): a
-- banner can be 16 KiB, more than a B-tree entry may hold.
CREATE TABLE banners (
	host           text COLLATE "C" NOT NULL,
	port           integer NOT NULL,
	protocol       text COLLATE "C" NOT NULL,
	digest         bytea NOT NULL,
	banner         text NOT NULL,
	scan_protocol  text NOT NULL,
	first_seen     timestamptz NOT NULL,
	last_seen      timestamptz NOT NULL,
	times_observed integer NOT NULL,
	PRIMARY KEY (host, port, protocol, digest)
) WITH (fillfactor = 80);

CREATE TABLE banner_instants (
	host     text COLLATE "C" NOT NULL,
	port     integer NOT NULL,
	protocol text COLLATE "C" NOT NULL,
	digest   bytea NOT NULL,
	seen_at  timestamptz NOT NULL,
	PRIMARY KEY (host, port, protocol, digest, seen_at)
);

-- Components seen on a port. The hostComponent entities are aggregated from
-- this table when read (a host has few), which saves an upsert per
-- component at ingest and a globally unique id index that a distributed
-- table could not have.
CREATE TABLE port_components (
	host       text COLLATE "C" NOT NULL,
	port       integer NOT NULL,
	protocol   text COLLATE "C" NOT NULL,
	name       text COLLATE "C" NOT NULL,
	version    text COLLATE "C" NOT NULL,
	category   text COLLATE "C" NOT NULL,
	first_seen timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	PRIMARY KEY (host, port, protocol, name, version, category)
) WITH (fillfactor = 80);

-- Where each certificate was seen: per host and port. The sha1 index
-- answers relatedHosts (on Citus, one index per shard, queried in
-- parallel).
CREATE TABLE host_certificates (
	host       text COLLATE "C" NOT NULL,
	sha1       text COLLATE "C" NOT NULL,
	port       integer NOT NULL,
	first_seen timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	PRIMARY KEY (host, sha1, port)
) WITH (fillfactor = 80);
CREATE INDEX host_certificates_sha1 ON host_certificates (sha1, host);

-- Certificates are not per-host data: on Citus they are reference tables.
-- first/last seen span every host; an import only writes the row when its
-- span widens it.
CREATE TABLE certificates (
	sha1       text COLLATE "C" NOT NULL,
	id         text COLLATE "C" NOT NULL,
	der        bytea NOT NULL,
	first_seen timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	PRIMARY KEY (sha1)
) WITH (fillfactor = 80);

-- The $search index of certificates (portolan.CertificateSearchTerms),
-- written once per certificate.
CREATE TABLE certificate_terms (
	field text COLLATE "C" NOT NULL,
	value text COLLATE "C" NOT NULL,
	sha1  text COLLATE "C" NOT NULL,
	PRIMARY KEY (field, value, sha1)
);
