-- Functions of estate-wide search (internal/sqlfilter). Each restates one
-- rule of the Go code for the database; the search property test
-- (storetest.RunSearch) proves that they agree.

-- portolan.VersionKey (query.go): a digit run becomes 0x01, its length
-- without leading zeros and those digits; a text run becomes 0x02 and its
-- bytes, each raised by one (0xff stays 0xff). Comparing keys bytewise
-- orders versions as search-and-changes.md §2 says.
CREATE FUNCTION portolan_version_key(v text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
	key bytea := ''::bytea;
	run text;
	raw bytea;
	i integer;
BEGIN
	FOR run IN SELECT m[1] FROM regexp_matches(v, '[0-9]+|[^0-9]+', 'g') AS m LOOP
		IF run ~ '^[0-9]' THEN
			run := left(ltrim(run, '0'), 255);
			key := key || '\x01'::bytea || set_byte('\x00'::bytea, 0, length(run)) || convert_to(run, 'UTF8');
		ELSE
			raw := convert_to(run, 'UTF8');
			FOR i IN 0 .. length(raw) - 1 LOOP
				raw := set_byte(raw, i, least(get_byte(raw, i), 254) + 1);
			END LOOP;
			key := key || '\x02'::bytea || raw;
		END IF;
	END LOOP;
	RETURN key;
END $$;

-- The address of a host id, NULL for a hostname (portolan.HostKindOf), for
-- portolan.inSubnet. Host ids are normalised, so anything with other
-- characters than those of an address is a name without trying the cast.
-- PARALLEL RESTRICTED: its EXCEPTION block starts a subtransaction, which
-- a parallel worker cannot.
CREATE FUNCTION portolan_addr(h text) RETURNS inet
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL RESTRICTED AS $$
BEGIN
	IF h !~ '^[0-9a-f:.]+$' THEN
		RETURN NULL;
	END IF;
	RETURN h::inet;
EXCEPTION WHEN others THEN
	RETURN NULL;
END $$;

-- A certificate's validity, for $filter and $orderby on expirationDateTime
-- and issueDateTime (NULL until filled: the store fills certificates of an
-- older schema when it opens, sqlstore.FillCertificateFields).
ALTER TABLE certificates ADD COLUMN not_before timestamptz;
ALTER TABLE certificates ADD COLUMN not_after timestamptz;
CREATE INDEX certificates_not_after ON certificates (not_after);

-- A certificate's string values under their Graph paths, as sent
-- (portolan.CertificateFields): $filter compares them.
CREATE TABLE certificate_fields (
	sha1  text COLLATE "C" NOT NULL,
	field text COLLATE "C" NOT NULL,
	value text NOT NULL,
	PRIMARY KEY (sha1, field, value)
);
CREATE INDEX certificate_fields_value ON certificate_fields (field, lower(value COLLATE "C"));

-- What analysts filter on: component names and versions, ports, status,
-- first and last seen, certificates, addresses.
CREATE INDEX port_components_name ON port_components (lower(name COLLATE "C"), portolan_version_key(version));
-- (port, host, protocol): a port's records in the default order of hostPorts.
CREATE INDEX host_ports_port ON host_ports (port, host, protocol) WHERE first_seen IS NOT NULL;
CREATE INDEX host_ports_first_seen ON host_ports (first_seen) WHERE first_seen IS NOT NULL;
CREATE INDEX host_ports_cert ON host_ports (cert_sha1) WHERE cert_sha1 IS NOT NULL;
CREATE INDEX host_ports_addr ON host_ports (portolan_addr(host));
