package bench

// Sender keys (group messaging) side by side: this library's
// session.GroupCipher over session.MemoryStore (records kept as libsignal's
// SenderKeyRecordStructure bytes) against go.mau.fi/libsignal's groups
// package over a store that keeps its records serialized (its JSON), as
// applications keep them in a database. Both use WhatsApp's legacy wire
// format here, the only one go.mau.fi/libsignal speaks (same cryptography as
// libsignal's). See README.md.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"

	"go.mau.fi/libsignal/groups"
	mauRecord "go.mau.fi/libsignal/groups/state/record"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/senderkey"
	"github.com/ratchetlab/signal/session"
)

const groupID = "120363000000000000@g.us"

// groupImpl is one implementation of the group workloads.
type groupImpl struct {
	name string
	// newGroup returns a sender that has sent its SKDM to a receiver.
	newGroup func(tb testing.TB) (groupSender, groupReceiver)
	// record encodes/decodes a receiver's record.
	parseRecord  func(tb testing.TB, b []byte) any
	encodeRecord func(tb testing.TB, r any) []byte
}

type groupSender interface {
	encrypt(tb testing.TB, pt []byte) []byte
	skdm(tb testing.TB) []byte
}

type groupReceiver interface {
	decrypt(tb testing.TB, ct []byte) []byte
	process(tb testing.TB, sender int, skdm []byte)
	record(tb testing.TB) []byte
}

var groupImpls = []groupImpl{
	{name: "signal", newGroup: newSignalGroup,
		parseRecord: func(tb testing.TB, b []byte) any {
			r, err := senderkey.ParseRecord(b)
			must(tb, err)
			return r
		},
		encodeRecord: func(tb testing.TB, r any) []byte {
			b, err := r.(*senderkey.Record).MarshalBinary()
			must(tb, err)
			return b
		}},
	{name: "mau", newGroup: newMauGroup,
		parseRecord: func(tb testing.TB, b []byte) any {
			ser := serialize.NewProtoBufSerializer()
			r, err := mauRecord.NewSenderKeyFromBytes(b, ser.SenderKeyRecord, ser.SenderKeyState)
			must(tb, err)
			return r
		},
		encodeRecord: func(tb testing.TB, r any) []byte { return r.(*mauRecord.SenderKey).Serialize() }},
}

// --- this library

var (
	aliceAddr = session.Address{Name: "alice", DeviceID: 1}
	bobAddr   = session.Address{Name: "bob", DeviceID: 1}
)

type signalGroupSide struct {
	store *session.MemoryStore
	g     session.LegacyGroup
}

func newSignalSide(tb testing.TB, addr session.Address) *signalGroupSide {
	id, err := keys.GeneratePrivateKey()
	must(tb, err)
	st := session.NewMemoryStore(id, 1, session.TrustAll)
	return &signalGroupSide{store: st, g: session.NewGroupCipher(st, addr).Legacy(groupID)}
}

func newSignalGroup(tb testing.TB) (groupSender, groupReceiver) {
	a, b := newSignalSide(tb, aliceAddr), newSignalSide(tb, bobAddr)
	b.process(tb, 0, a.skdm(tb))
	return a, b
}

func (s *signalGroupSide) encrypt(tb testing.TB, pt []byte) []byte {
	ct, err := s.g.Encrypt(context.Background(), pt)
	must(tb, err)
	return ct
}

func (s *signalGroupSide) skdm(tb testing.TB) []byte {
	d, err := s.g.CreateDistributionMessage(context.Background())
	must(tb, err)
	b, err := d.MarshalBinary()
	must(tb, err)
	return b
}

func (s *signalGroupSide) decrypt(tb testing.TB, ct []byte) []byte {
	pt, err := s.g.Decrypt(context.Background(), aliceAddr, ct)
	must(tb, err)
	return pt
}

func (s *signalGroupSide) process(tb testing.TB, sender int, skdm []byte) {
	_, err := s.g.ProcessDistributionMessage(context.Background(), session.Address{Name: "alice", DeviceID: uint32(sender + 1)}, skdm)
	must(tb, err)
}

func (s *signalGroupSide) record(tb testing.TB) []byte {
	r, err := s.store.LoadSenderKey(context.Background(), aliceAddr, s.g.ID())
	must(tb, err)
	b, err := r.MarshalBinary()
	must(tb, err)
	return b
}

// --- go.mau.fi/libsignal

// mauSenderKeyStore keeps go.mau.fi/libsignal's sender key records
// serialized.
type mauSenderKeyStore struct {
	ser  *serialize.Serializer
	recs map[string][]byte
}

func skName(n *protocol.SenderKeyName) string {
	return fmt.Sprintf("%s\x00%s\x00%d", n.GroupID(), n.Sender().Name(), n.Sender().DeviceID())
}

func (s *mauSenderKeyStore) StoreSenderKey(_ context.Context, n *protocol.SenderKeyName, r *mauRecord.SenderKey) error {
	s.recs[skName(n)] = r.Serialize()
	return nil
}

func (s *mauSenderKeyStore) LoadSenderKey(_ context.Context, n *protocol.SenderKeyName) (*mauRecord.SenderKey, error) {
	b, ok := s.recs[skName(n)]
	if !ok {
		return mauRecord.NewSenderKey(s.ser.SenderKeyRecord, s.ser.SenderKeyState), nil
	}
	return mauRecord.NewSenderKeyFromBytes(b, s.ser.SenderKeyRecord, s.ser.SenderKeyState)
}

type mauGroupSide struct {
	st   *mauSenderKeyStore
	name *protocol.SenderKeyName // own name (sender) or the sender's (receiver)
}

func newMauSide(sender string) *mauGroupSide {
	ser := serialize.NewProtoBufSerializer()
	return &mauGroupSide{
		st:   &mauSenderKeyStore{ser: ser, recs: map[string][]byte{}},
		name: protocol.NewSenderKeyName(groupID, protocol.NewSignalAddress(sender, 1)),
	}
}

func newMauGroup(tb testing.TB) (groupSender, groupReceiver) {
	a, b := newMauSide("alice"), newMauSide("alice")
	b.process(tb, 0, a.skdm(tb))
	return a, b
}

// As applications do, a builder and cipher are made per message.
func (s *mauGroupSide) cipher() *groups.GroupCipher {
	return groups.NewGroupCipher(groups.NewGroupSessionBuilder(s.st, s.st.ser), s.name, s.st)
}

func (s *mauGroupSide) encrypt(tb testing.TB, pt []byte) []byte {
	m, err := s.cipher().Encrypt(context.Background(), pt)
	must(tb, err)
	return m.(*protocol.SenderKeyMessage).SignedSerialize()
}

func (s *mauGroupSide) skdm(tb testing.TB) []byte {
	d, err := groups.NewGroupSessionBuilder(s.st, s.st.ser).Create(context.Background(), s.name)
	must(tb, err)
	return d.Serialize()
}

func (s *mauGroupSide) decrypt(tb testing.TB, ct []byte) []byte {
	m, err := protocol.NewSenderKeyMessageFromBytes(ct, s.st.ser.SenderKeyMessage)
	must(tb, err)
	pt, err := s.cipher().Decrypt(context.Background(), m)
	must(tb, err)
	return pt
}

func (s *mauGroupSide) process(tb testing.TB, sender int, skdm []byte) {
	d, err := protocol.NewSenderKeyDistributionMessageFromBytes(skdm, s.st.ser.SenderKeyDistributionMessage)
	must(tb, err)
	name := protocol.NewSenderKeyName(groupID, protocol.NewSignalAddress("alice", uint32(sender+1)))
	must(tb, groups.NewGroupSessionBuilder(s.st, s.st.ser).Process(context.Background(), name, d))
}

func (s *mauGroupSide) record(tb testing.TB) []byte {
	return s.st.recs[skName(s.name)]
}

// --- workloads

// groupBenchmarks adds the group rows to BenchmarkCompare.
func groupBenchmarks(b *testing.B) {
	eachGroup(b, "GroupEncrypt100", func(b *testing.B, im groupImpl) {
		s, _ := im.newGroup(b)
		pt := make([]byte, 100)
		m := meter(b)
		defer m.done()
		for b.Loop() {
			s.encrypt(b, pt)
		}
	})
	eachGroup(b, "GroupDecrypt100", func(b *testing.B, im groupImpl) {
		s, r := im.newGroup(b)
		pt := make([]byte, 100)
		cts := make([][]byte, 0, batch)
		m := meter(b)
		defer m.done()
		i := batch
		for b.Loop() {
			if i == batch {
				m.stop()
				cts = cts[:0]
				for range batch {
					cts = append(cts, s.encrypt(b, pt))
				}
				i = 0
				m.resume()
			}
			r.decrypt(b, cts[i])
			i++
		}
	})
	eachGroup(b, "GroupSKDMProcess", func(b *testing.B, im groupImpl) {
		const senders = 256
		var skdms [][]byte
		for range senders {
			s, _ := im.newGroup(b)
			skdms = append(skdms, s.skdm(b))
		}
		_, r := im.newGroup(b)
		m := meter(b)
		defer m.done()
		i := 0
		for b.Loop() {
			r.process(b, i%senders, skdms[i%senders])
			i++
		}
	})
	receiverRecord := func(b *testing.B, im groupImpl) []byte {
		s, r := im.newGroup(b)
		for range 10 {
			r.decrypt(b, s.encrypt(b, make([]byte, 100)))
		}
		return r.record(b)
	}
	eachGroup(b, "GroupRecordEncode", func(b *testing.B, im groupImpl) {
		rec := im.parseRecord(b, receiverRecord(b, im))
		b.ReportMetric(float64(len(im.encodeRecord(b, rec))), "B/record")
		m := meter(b)
		defer m.done()
		for b.Loop() {
			im.encodeRecord(b, rec)
		}
	})
	eachGroup(b, "GroupRecordDecode", func(b *testing.B, im groupImpl) {
		enc := receiverRecord(b, im)
		m := meter(b)
		defer m.done()
		for b.Loop() {
			im.parseRecord(b, enc)
		}
	})
}

func eachGroup(b *testing.B, op string, f func(*testing.B, groupImpl)) {
	b.Run(op, func(b *testing.B) {
		for _, im := range groupImpls {
			b.Run(im.name, func(b *testing.B) { f(b, im) })
		}
	})
}

// groupFloors adds Ed25519Sign to BenchmarkFloor: the floor of the XEdDSA
// signature every group message carries (Ed25519Verify is there already).
func groupFloors(b *testing.B) {
	b.Run("Ed25519Sign", func(b *testing.B) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		must(b, err)
		msg := make([]byte, 150)
		m := meter(b)
		defer m.done()
		for b.Loop() {
			ed25519.Sign(priv, msg)
		}
	})
}
