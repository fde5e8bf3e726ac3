-- The expiry of each record's most recent certificate, kept on host_ports
-- itself, so that "which certificates expire this month, soonest first"
-- ($filter and $orderby on mostRecentSslCertificate/expirationDateTime)
-- walks one index in order and stops after a page, instead of sorting every
-- match by a value read from another table. It follows cert_sha1 (the
-- upsert sets both from the same candidate); NULL without a certificate.
ALTER TABLE host_ports ADD COLUMN cert_not_after INTEGER;
UPDATE host_ports SET cert_not_after = (SELECT c.not_after FROM certificates c WHERE c.sha1 = host_ports.cert_sha1)
	WHERE cert_sha1 IS NOT NULL;
-- The key (host, port, protocol) follows in every entry of an index of a
-- WITHOUT ROWID table, so the index also gives the tiebreak order.
CREATE INDEX host_ports_cert_not_after ON host_ports (cert_not_after) WHERE cert_not_after IS NOT NULL AND first_seen IS NOT NULL;
