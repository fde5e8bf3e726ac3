-- Change notification moves from 0005's statement triggers into the
-- writers' own transactions (generation.go, notifyChange), for Citus: the
-- rows of a distributed table are written on the worker nodes' shards, so a
-- trigger on the coordinator's table never fires for them, and a trigger
-- propagated to the shards (citus.enable_unsafe_triggers, row-level only)
-- would NOTIFY the worker node's database, where no serve LISTENs. Citus
-- also refuses to distribute a table that has triggers. The writers'
-- SELECT pg_notify runs in the coordinator session's transaction and is
-- delivered at its commit, as the triggers' was. A process that writes the
-- tables with other SQL than portolan's must notify itself:
-- SELECT pg_notify('portolan_changes', current_schema()).
DROP TRIGGER observation_log_notify ON observation_log;
DROP TRIGGER hosts_notify ON hosts;
DROP TRIGGER host_aliases_notify ON host_aliases;
DROP TRIGGER host_ports_notify ON host_ports;
DROP TRIGGER port_instants_notify ON port_instants;
DROP TRIGGER banners_notify ON banners;
DROP TRIGGER banner_instants_notify ON banner_instants;
DROP TRIGGER port_components_notify ON port_components;
DROP TRIGGER host_certificates_notify ON host_certificates;
DROP TRIGGER certificates_notify ON certificates;
DROP FUNCTION portolan_notify_change();
