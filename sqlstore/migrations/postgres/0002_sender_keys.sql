-- Version 2: sender keys (group messaging), one record per (sender, distribution id).
CREATE TABLE sender_keys (
	name            TEXT   NOT NULL,
	device_id       BIGINT NOT NULL,
	distribution_id BYTEA  NOT NULL,
	record          BYTEA  NOT NULL,
	PRIMARY KEY (name, device_id, distribution_id)
);
