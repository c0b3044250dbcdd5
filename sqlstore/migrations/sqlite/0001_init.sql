-- Version 1: every store of session.Stores.
CREATE TABLE local_identity (
	id              INTEGER PRIMARY KEY CHECK (id = 1),
	private_key     BLOB    NOT NULL,
	registration_id INTEGER NOT NULL
);
CREATE TABLE identities (
	name       TEXT    NOT NULL,
	device_id  INTEGER NOT NULL,
	public_key BLOB    NOT NULL,
	PRIMARY KEY (name, device_id)
);
CREATE TABLE pre_keys (
	id     INTEGER PRIMARY KEY,
	record BLOB NOT NULL
);
CREATE TABLE signed_pre_keys (
	id     INTEGER PRIMARY KEY,
	record BLOB NOT NULL
);
CREATE TABLE kyber_pre_keys (
	id     INTEGER PRIMARY KEY,
	record BLOB NOT NULL
);
CREATE TABLE kyber_pre_keys_used (
	kyber_id  INTEGER NOT NULL,
	signed_id INTEGER NOT NULL,
	base_key  BLOB    NOT NULL,
	PRIMARY KEY (kyber_id, signed_id, base_key)
);
CREATE TABLE sessions (
	name      TEXT    NOT NULL,
	device_id INTEGER NOT NULL,
	record    BLOB    NOT NULL,
	PRIMARY KEY (name, device_id)
);
