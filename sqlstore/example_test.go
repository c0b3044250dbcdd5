package sqlstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/session"
	"github.com/ratchetlab/signal/sqlstore"
)

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// Bob keeps his keys and sessions in SQLite. He receives Alice's first
// message and saves it in his own table in the same transaction that
// advances the session: either both are stored or neither is.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlstore-example")
	check(err)
	defer os.RemoveAll(dir)

	// Bob's database: Open creates the schema.
	store, err := sqlstore.Open(ctx, sqlstore.SQLite, filepath.Join(dir, "bob.db"))
	check(err)
	defer store.Close()
	_, err = store.DB().Exec("CREATE TABLE inbox (sender TEXT, body TEXT)")
	check(err)

	// Bob's identity and pre-keys.
	bobID, err := keys.GeneratePrivateKey()
	check(err)
	check(store.SetLocalIdentity(ctx, bobID, 2222))
	spk, err := prekey.GenerateSignedPreKey(bobID, 1, time.Now())
	check(err)
	kpk, err := prekey.GenerateKyberPreKey(bobID, 1, kem.Kyber1024, time.Now())
	check(err)
	opks, err := prekey.GeneratePreKeys(100, 1)
	check(err)
	stores := store.Stores()
	check(stores.SignedPreKeys.StoreSignedPreKey(ctx, spk))
	check(stores.KyberPreKeys.StoreKyberPreKey(ctx, kpk))
	check(stores.PreKeys.StorePreKey(ctx, opks[0]))
	bundle, err := prekey.NewBundle(2222, 1, bobID.PublicKey(), spk, opks[0], kpk)
	check(err)

	// Alice (in memory) starts a session and sends a PreKey message.
	aliceID, err := keys.GeneratePrivateKey()
	check(err)
	alice, err := session.New(session.NewMemoryStore(aliceID, 1111, session.TrustOnFirstUse).Stores())
	check(err)
	bob := session.Address{Name: "bob", DeviceID: 1}
	check(alice.ProcessBundle(ctx, bob, bundle))
	ct, err := alice.Encrypt(ctx, bob, []byte("Hello Bob"))
	check(err)

	// Bob decrypts and saves in one transaction: Receive runs the handler
	// inside the store's transaction (Atomic), whose *sql.Tx the handler
	// gets from its ctx.
	bobManager, err := session.New(store.Stores())
	check(err)
	from := session.Address{Name: "alice", DeviceID: 1}
	err = bobManager.Receive(ctx, from, ct, func(ctx context.Context, plaintext []byte) error {
		_, err := sqlstore.Tx(ctx).ExecContext(ctx, "INSERT INTO inbox VALUES ($1, $2)", from.String(), string(plaintext))
		return err
	})
	check(err)

	var body string
	check(store.DB().QueryRow("SELECT body FROM inbox").Scan(&body))
	_, err = stores.PreKeys.LoadPreKey(ctx, opks[0].ID())
	fmt.Println("saved:", body)
	fmt.Println("one-time pre-key used up:", err != nil)
	// Output:
	// saved: Hello Bob
	// one-time pre-key used up: true
}
