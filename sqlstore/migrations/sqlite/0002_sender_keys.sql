-- Version 2: sender keys (group messaging), one record per (sender, distribution id).
CREATE TABLE sender_keys (
	name            TEXT    NOT NULL,
	device_id       INTEGER NOT NULL,
	distribution_id BLOB    NOT NULL,
	record          BLOB    NOT NULL,
	PRIMARY KEY (name, device_id, distribution_id)
);
