-- A host's components are the union of its ports' (the span of each
-- product over every port that ran it), so they are aggregated from
-- port_components when read, as the PostgreSQL schema always has, instead
-- of kept in a table of their own: every import wrote each host's
-- components twice (the row and its id index, an entry as long as the
-- base64 id), about a tenth of an nmap import's time. A host component's id
-- names its host (portolan.HostComponentID), so a lookup by id reads one
-- host's ports.
DROP TABLE host_components;
