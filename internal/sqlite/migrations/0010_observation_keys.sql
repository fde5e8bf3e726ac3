-- Identities keyed by host, then digest. ingest stores a file in host
-- order, so an import's identities are a run of neighbouring keys here,
-- where in observation_ids (keyed by the digest alone) they fell all over
-- the index: every import of 10,000 observations rewrote nearly every page
-- of it, which into a store of a million hostPorts was 1.2 GB of the 2.9 GB
-- a file of 287,415 observations wrote. Imports record identities here
-- from now on. What
-- observation_ids holds from before stays there and is still looked up
-- (the digests cannot be given their hosts without decoding the log),
-- until prune has forgotten it all.
CREATE TABLE observation_keys (
	host     TEXT NOT NULL,
	identity BLOB NOT NULL,
	PRIMARY KEY (host, identity)
) WITHOUT ROWID;
