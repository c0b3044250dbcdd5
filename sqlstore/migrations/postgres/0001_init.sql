-- Version 1: every store of session.Stores.
CREATE TABLE local_identity (
	id              SMALLINT PRIMARY KEY CHECK (id = 1),
	private_key     BYTEA   NOT NULL,
	registration_id BIGINT  NOT NULL
);
CREATE TABLE identities (
	name       TEXT    NOT NULL,
	device_id  BIGINT  NOT NULL,
	public_key BYTEA   NOT NULL,
	PRIMARY KEY (name, device_id)
);
CREATE TABLE pre_keys (
	id     BIGINT  PRIMARY KEY,
	record BYTEA NOT NULL
);
CREATE TABLE signed_pre_keys (
	id     BIGINT  PRIMARY KEY,
	record BYTEA NOT NULL
);
CREATE TABLE kyber_pre_keys (
	id     BIGINT  PRIMARY KEY,
	record BYTEA NOT NULL
);
CREATE TABLE kyber_pre_keys_used (
	kyber_id  BIGINT  NOT NULL,
	signed_id BIGINT  NOT NULL,
	base_key  BYTEA   NOT NULL,
	PRIMARY KEY (kyber_id, signed_id, base_key)
);
CREATE TABLE sessions (
	name      TEXT    NOT NULL,
	device_id BIGINT  NOT NULL,
	record    BYTEA   NOT NULL,
	PRIMARY KEY (name, device_id)
);
