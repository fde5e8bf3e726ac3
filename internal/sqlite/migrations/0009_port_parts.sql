-- Which parts a hostPort has: 1 banners, 2 services (port_components).
-- Reading a page of ports descends into banners and port_components only
-- for the ports that have some, and a host found by a port sweep (masscan,
-- ZMap) has none: its page costs one b-tree descent instead of three. The
-- import that stores a port's first banner or service sets its bit, and a
-- rebuild sets them anew.
ALTER TABLE host_ports ADD COLUMN parts INTEGER NOT NULL DEFAULT 0;
UPDATE host_ports SET parts = 1
	WHERE (host, port, protocol) IN (SELECT host, port, protocol FROM banners);
UPDATE host_ports SET parts = parts | 2
	WHERE (host, port, protocol) IN (SELECT host, port, protocol FROM port_components);
