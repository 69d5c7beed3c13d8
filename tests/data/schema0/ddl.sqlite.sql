CREATE TABLE dataset (
	id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	purpose VARCHAR NOT NULL, 
	label VARCHAR, 
	ref_field VARCHAR NOT NULL, 
	kinds VARCHAR NOT NULL, 
	record_count INTEGER NOT NULL, 
	skipped_rows INTEGER NOT NULL, 
	imported_at DATETIME NOT NULL, 
	source_name VARCHAR NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE fingerprint_chunk (
	dataset_id INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	chunk_no INTEGER NOT NULL, 
	hashes BLOB NOT NULL, 
	rec_nos BLOB NOT NULL, 
	PRIMARY KEY (dataset_id, kind, chunk_no), 
	FOREIGN KEY(dataset_id) REFERENCES dataset (id)
);

CREATE TABLE incident (
	id INTEGER NOT NULL, 
	status VARCHAR NOT NULL, 
	severity VARCHAR NOT NULL, 
	alerted_severity VARCHAR, 
	dataset VARCHAR, 
	datasets VARCHAR NOT NULL, 
	kinds VARCHAR NOT NULL, 
	terms VARCHAR NOT NULL, 
	records INTEGER NOT NULL, 
	high INTEGER NOT NULL, 
	medium INTEGER NOT NULL, 
	low INTEGER NOT NULL, 
	canaries INTEGER NOT NULL, 
	sightings INTEGER NOT NULL, 
	first_seen DATETIME NOT NULL, 
	last_seen DATETIME NOT NULL, 
	first_published DATETIME, 
	detection_seconds FLOAT, 
	acked_at DATETIME, 
	PRIMARY KEY (id)
);

CREATE TABLE incident_ref (
	incident_id INTEGER NOT NULL, 
	dataset VARCHAR NOT NULL, 
	ref VARCHAR NOT NULL, 
	type VARCHAR NOT NULL, 
	fields VARCHAR NOT NULL, 
	confidence VARCHAR NOT NULL, 
	label VARCHAR, 
	PRIMARY KEY (incident_id, dataset, ref), 
	FOREIGN KEY(incident_id) REFERENCES incident (id)
);

CREATE TABLE outbox (
	id INTEGER NOT NULL, 
	alert_key VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	severity VARCHAR NOT NULL, 
	incident_id INTEGER, 
	route_key VARCHAR NOT NULL, 
	route_label VARCHAR NOT NULL, 
	title VARCHAR NOT NULL, 
	body VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at DATETIME NOT NULL, 
	lease_owner VARCHAR, 
	lease_until DATETIME, 
	last_error VARCHAR, 
	created_at DATETIME NOT NULL, 
	sent_at DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE (alert_key, route_key)
);

CREATE TABLE record (
	dataset_id INTEGER NOT NULL, 
	rec_no INTEGER NOT NULL, 
	ref VARCHAR NOT NULL, 
	salt BLOB NOT NULL, 
	scoped BLOB NOT NULL, 
	PRIMARY KEY (dataset_id, rec_no), 
	FOREIGN KEY(dataset_id) REFERENCES dataset (id)
);

CREATE TABLE sighting (
	id INTEGER NOT NULL, 
	incident_id INTEGER NOT NULL, 
	source VARCHAR NOT NULL, 
	item_key VARCHAR NOT NULL, 
	url VARCHAR, 
	content_key VARCHAR, 
	published_at DATETIME, 
	seen_at DATETIME NOT NULL, 
	records INTEGER NOT NULL, 
	canaries INTEGER NOT NULL, 
	terms VARCHAR NOT NULL, 
	kinds VARCHAR NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(incident_id) REFERENCES incident (id)
);

CREATE TABLE source_content_scan (
	content_hash VARCHAR NOT NULL, 
	findings VARCHAR NOT NULL, 
	first_source VARCHAR NOT NULL, 
	scanned_at DATETIME NOT NULL, 
	PRIMARY KEY (content_hash)
);

CREATE TABLE source_seen_item (
	source VARCHAR NOT NULL, 
	"key" VARCHAR NOT NULL, 
	content_hash VARCHAR NOT NULL, 
	seen_at DATETIME NOT NULL, 
	PRIMARY KEY (source, "key")
);

CREATE TABLE source_state (
	source VARCHAR NOT NULL, 
	cursor VARCHAR, 
	health VARCHAR NOT NULL, 
	health_reason VARCHAR NOT NULL, 
	failures INTEGER NOT NULL, 
	last_run_at DATETIME, 
	last_ok_at DATETIME, 
	last_error VARCHAR NOT NULL, 
	last_new_at DATETIME, 
	gap_mean FLOAT, 
	gap_count INTEGER NOT NULL, 
	items_seen INTEGER NOT NULL, 
	validators VARCHAR NOT NULL, 
	PRIMARY KEY (source)
);

CREATE TABLE watch_term (
	id INTEGER NOT NULL, 
	term VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	normal VARCHAR NOT NULL, 
	added_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE UNIQUE INDEX ix_dataset_name ON dataset (name);

CREATE INDEX ix_incident_ref_ref ON incident_ref (ref);

CREATE INDEX ix_outbox_alert_key ON outbox (alert_key);

CREATE INDEX ix_outbox_incident_id ON outbox (incident_id);

CREATE INDEX ix_outbox_route_key ON outbox (route_key);

CREATE INDEX ix_outbox_status ON outbox (status);

CREATE INDEX ix_sighting_content_key ON sighting (content_key);

CREATE INDEX ix_sighting_incident_id ON sighting (incident_id);

CREATE INDEX ix_source_seen_item_content_hash ON source_seen_item (content_hash);

CREATE UNIQUE INDEX ix_watch_term_normal ON watch_term (normal);
