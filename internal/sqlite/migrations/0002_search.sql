-- Estate-wide search (internal/sqlfilter).

-- A certificate's validity, for $filter and $orderby on expirationDateTime
-- and issueDateTime (NULL until filled: the store fills certificates of an
-- older schema when it opens, sqlstore.FillCertificateFields).
ALTER TABLE certificates ADD COLUMN not_before INTEGER;
ALTER TABLE certificates ADD COLUMN not_after INTEGER;
CREATE INDEX certificates_not_after ON certificates (not_after);

-- A certificate's string values under their Graph paths, as sent
-- (portolan.CertificateFields): $filter compares them.
CREATE TABLE certificate_fields (
	sha1  TEXT NOT NULL,
	field TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (sha1, field, value)
) WITHOUT ROWID;
CREATE INDEX certificate_fields_value ON certificate_fields (field, value COLLATE NOCASE);

-- What analysts filter on: component names and versions, ports, status,
-- first and last seen, certificates, addresses.
CREATE INDEX port_components_name ON port_components (name COLLATE NOCASE, portolan_version_key(version));
-- (port, host, protocol): a port's records in the default order of hostPorts.
CREATE INDEX host_ports_port ON host_ports (port, host, protocol) WHERE first_seen IS NOT NULL;
CREATE INDEX host_ports_first_seen ON host_ports (first_seen) WHERE first_seen IS NOT NULL;
CREATE INDEX host_ports_cert ON host_ports (cert_sha1) WHERE cert_sha1 IS NOT NULL;
CREATE INDEX host_ports_addr ON host_ports (portolan_addr_key(host));
