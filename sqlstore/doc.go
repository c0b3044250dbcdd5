// Package sqlstore keeps every store of package session (identity,
// pre-keys, signed pre-keys, Kyber pre-keys, sessions, sender keys) in a
// SQL database through database/sql, and runs the writes of one operation
// as one database transaction (session.Atomic).
//
// Two dialects are supported. SQLite (modernc.org/sqlite, pure Go, no cgo)
// is the embedded default: the database is opened in WAL mode with a busy
// timeout, synchronous=FULL, and every transaction starts with BEGIN
// IMMEDIATE, so there is one writer at a time across all processes that
// share the file. PostgreSQL (github.com/jackc/pgx/v5) is for accounts
// served by several processes or machines: a transaction first takes a
// transaction-scoped advisory lock for the peer address
// (pg_advisory_xact_lock), and one-time pre-keys are read with SELECT ...
// FOR UPDATE, so that two processes never advance the same session or
// consume the same pre-key at once.
//
// Session records are stored in libsignal's encoding (session.Record's
// MarshalBinary, the RecordStructure protobuf), pre-key records in
// libsignal's PreKeyRecordStructure, SignedPreKeyRecordStructure and
// KyberPreKeyRecordStructure encodings, sender key records in libsignal's
// SenderKeyRecordStructure.
//
// The schema is created and upgraded by Open from migrations embedded in
// the binary; the table schema_version records which were applied.
//
// # Transactions
//
// Store.Atomic runs a function with stores whose writes commit together;
// the context passed to it carries the *sql.Tx (see Tx), so that an
// application saves its own rows, such as a received message, in the same
// transaction as the advanced session. A session.Manager over
// Store.Stores uses it for every operation: Manager.Receive runs its
// handler inside the transaction, so the message is saved if and only if
// the session advances, and Manager.Encrypt commits the advanced sending
// chain before it returns the ciphertext:
//
//	m, _ := session.New(store.Stores())
//	err := m.Receive(ctx, from, ct, func(ctx context.Context, pt []byte) error {
//		_, err := sqlstore.Tx(ctx).ExecContext(ctx, "INSERT INTO inbox VALUES ($1, $2)", from.String(), pt)
//		return err
//	})
//
// A function that fails with a transient error (SQLITE_BUSY, a PostgreSQL serialization failure or
// deadlock, or any error with a Temporary() bool method that reports true)
// is run again in a new transaction, a bounded number of times.
//
// # Key material
//
// The database holds our identity private key and pre-key private keys,
// as libsignal's own stores do: protect it like a key file.
package sqlstore
