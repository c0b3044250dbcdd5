package session_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/session"
)

// refuse receives ct from from at p with a handler that refuses it: the
// handler sees the plaintext, Receive returns its error and p's records
// are byte for byte as before.
func (p *party) refuse(t *testing.T, from *party, ct session.Ciphertext, want string) {
	t.Helper()
	before := loadRecordBytes(t, p.store, from.addr)
	var seen string
	err := p.m.Receive(context.Background(), from.addr, ct, func(_ context.Context, pt []byte) error {
		seen = string(pt)
		return errHandler
	})
	require.ErrorIs(t, err, errHandler)
	require.Equal(t, want, seen)
	requireSameBytes(t, before, loadRecordBytes(t, p.store, from.addr), "record after a refused %q", want)
}

// A message the Receive handler refuses leaves the record exactly as it
// was, whatever decrypting it changed in the transaction's copy: a
// skipped key used (out of order), a chain moved forward (skipping keys),
// a DH ratchet step, an SPQR step, a new session from a PreKey message.
// The message then decrypts.
func TestMemoryRefusedMessageLeavesRecord(t *testing.T) {
	for _, c := range []struct {
		name string
		kind bundleKind
		opts []partyOption
	}{
		{"spqr", pqxdh, nil},
		{"classical", x3dh, []partyOption{withOptions(session.WithX3DH(true))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			alice, bob := newPair(t, c.opts...)
			// A new session: the PreKey message is refused, then read.
			alice.startSession(t, bob, c.kind)
			first := alice.send(t, bob, "first")
			require.Equal(t, session.PreKeyType, first.Type)
			bob.refuse(t, alice, first, "first")
			assert.Nil(t, loadRecord(t, bob.store, alice.addr), "no record after a refused first message")
			assert.Equal(t, "first", bob.recv(t, alice, first))
			roundTrips(t, alice, bob, 1)

			for round := range 3 {
				var cts []session.Ciphertext
				for i := range 6 {
					cts = append(cts, alice.send(t, bob, fmt.Sprint(round, "-", i)))
				}
				// Ahead of the chain (keys skipped; a DH step in round 0).
				bob.refuse(t, alice, cts[4], fmt.Sprint(round, "-4"))
				assert.Equal(t, fmt.Sprint(round, "-4"), bob.recv(t, alice, cts[4]))
				// Behind it: skipped keys.
				for _, i := range []int{1, 3, 0, 2} {
					bob.refuse(t, alice, cts[i], fmt.Sprint(round, "-", i))
					assert.Equal(t, fmt.Sprint(round, "-", i), bob.recv(t, alice, cts[i]))
				}
				bob.refuse(t, alice, cts[5], fmt.Sprint(round, "-5"))
				assert.Equal(t, fmt.Sprint(round, "-5"), bob.recv(t, alice, cts[5]))
				// The answer makes alice take a DH step.
				reply := bob.send(t, alice, fmt.Sprint("reply ", round))
				alice.refuse(t, bob, reply, fmt.Sprint("reply ", round))
				assert.Equal(t, fmt.Sprint("reply ", round), alice.recv(t, bob, reply))
			}
		})
	}
}

// A transaction that stores a record with a current state, then one
// without, for the same address commits the one without: the memory the
// first write took is not left holding its state.
func TestMemoryTransactionStoresRecordWithoutCurrent(t *testing.T) {
	ctx := context.Background()
	alice, bob := newEstablishedPair(t, pqxdh)
	alice.startSession(t, bob, pqxdh) // one archived state
	b := loadRecordBytes(t, alice.store, bob.addr)
	var archivedOnly []byte
	for _, f := range parseProtoFields(t, b) {
		if f.num != 1 {
			archivedOnly = f.appendTo(archivedOnly)
		}
	}
	for _, first := range []string{"lent", "second load", "parsed"} {
		for _, last := range []string{"empty", "archived only"} {
			addr := otherDevice(bob, 11)
			require.NoError(t, alice.store.Atomic(ctx, addr, func(ctx context.Context, tx session.Stores) error {
				r0, err := tx.Sessions.LoadSession(ctx, bob.addr)
				require.NoError(t, err)
				r1, err := tx.Sessions.LoadSession(ctx, bob.addr)
				require.NoError(t, err)
				rec := map[string]*session.Record{"lent": r0, "second load": r1}[first]
				if rec == nil {
					rec, err = session.ParseRecord(b)
					require.NoError(t, err)
				}
				require.NoError(t, tx.Sessions.StoreSession(ctx, addr, rec))
				end := session.NewRecord()
				if last != "empty" {
					end, err = session.ParseRecord(archivedOnly)
					require.NoError(t, err)
				}
				return tx.Sessions.StoreSession(ctx, addr, end)
			}))
			rec := loadRecord(t, alice.store, addr)
			require.NotNil(t, rec)
			assert.False(t, rec.HasCurrentState(), "%s, then %s", first, last)
			want := 0
			if last != "empty" {
				want = 1
			}
			assert.Equal(t, want, rec.ArchivedStates(), "%s, then %s", first, last)
			require.True(t, alice.store.DeleteSession(addr))
		}
	}
	roundTrips(t, alice, bob, 1)
}
