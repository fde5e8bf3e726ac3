-- Change notification for serve replicas (issue 16): every statement that
-- changes the observation log or the records sends NOTIFY portolan_changes
-- with the schema's name as payload. PostgreSQL delivers notifications only
-- when the transaction commits, and folds identical ones of a transaction
-- into one, so an import costs one notification, sent after its commit;
-- every serve on the database LISTENs and drops its response cache
-- (generation.go). Statement-level triggers, so a batch of thousands of rows
-- costs one call per statement, not per row.
CREATE FUNCTION portolan_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('portolan_changes', current_schema());
	RETURN NULL;
END
$$;

CREATE TRIGGER observation_log_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON observation_log
	FOR EACH STATEMENT EXECUTE FUNCTION portolan_notify_change();
CREATE TRIGGER hosts_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON hosts
	FOR EACH STATEMENT EXECUTE FUNCTION portolan_notify_change();
CREATE TRIGGER host_aliases_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON host_aliases
	FOR EACH STATEMENT EXECUTE FUNCTION portolan_notify_change();
CREATE TRIGGER host_ports_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON host_ports
	FOR EACH STATEMENT EXECUTE FUNCTION portolan_notify_change();
CREATE TRIGGER port_instants_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON port_instants
	FOR EACH STATEMENT EXECUTE FUNCTION portolan_notify_change();
CREATE TRIGGER banners_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON banners
	FOR EACH STATEMENT EXECUTE FUNCTION portolan_notify_change();
CREATE TRIGGER banner_instants_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON banner_instants
	FOR EACH STATEMENT EXECUTE FUNCTION portolan_notify_change();
CREATE TRIGGER port_components_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON port_components
	FOR EACH STATEMENT EXECUTE FUNCTION portolan_notify_change();
CREATE TRIGGER host_certificates_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON host_certificates
	FOR EACH STATEMENT EXECUTE FUNCTION portolan_notify_change();
CREATE TRIGGER certificates_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON certificates
	FOR EACH STATEMENT EXECUTE FUNCTION portolan_notify_change();
