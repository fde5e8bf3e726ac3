-- The expiry of each record's most recent certificate, kept on host_ports
-- itself, so that "which certificates expire this month, soonest first"
-- ($filter and $orderby on mostRecentSslCertificate/expirationDateTime)
-- walks one index in order and stops after a page, instead of sorting every
-- match by a value read from another table. It follows cert_sha1 (the
-- upsert sets both from the same candidate); NULL without a certificate.
ALTER TABLE host_ports ADD COLUMN cert_not_after timestamptz;
UPDATE host_ports hp SET cert_not_after = c.not_after FROM certificates c
	WHERE c.sha1 = hp.cert_sha1 AND hp.cert_sha1 IS NOT NULL;
-- NULLS FIRST as $orderby's ascending order has them (sqlfilter.Order), or
-- the planner cannot take the order from the index (no NULL is in it, but
-- the planner matches the declared order).
CREATE INDEX host_ports_cert_not_after ON host_ports (cert_not_after NULLS FIRST, host, port, protocol)
	WHERE cert_not_after IS NOT NULL AND first_seen IS NOT NULL;
