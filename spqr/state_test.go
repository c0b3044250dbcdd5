package spqr

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
)

func fixtures(t testing.TB) (a, b []byte) {
	t.Helper()
	a, b, err := testvectors.SPQRFixtures()
	require.NoError(t, err)
	return a, b
}

func TestFixturesReencode(t *testing.T) {
	a, b := fixtures(t)
	for name, in := range map[string][]byte{"a": a, "b": b} {
		st, err := parseState(in)
		require.NoError(t, err, name)
		assert.Equal(t, in, st.marshal(), name)
	}
}

func TestFixturesContent(t *testing.T) {
	a, b := fixtures(t)
	sa, err := parseState(a)
	require.NoError(t, err)
	sb, err := parseState(b)
	require.NoError(t, err)
	require.Equal(t, kindHeaderSent, sa.scka.kind)
	require.Equal(t, kindCt1Sampled, sb.scka.kind)

	// A's authenticator is new(auth_key, 1) (§12).
	assert.Equal(t, newAuthenticator(authKey29, 1), sa.scka.auth)
	// hdr = rho || H(ek) taken from A's dk, as B received it.
	assert.Equal(t, sa.scka.dk[2304:2368], sb.scka.hdr)
	// encaps1(hdr, m) with libcrux's m reproduces libcrux's ct1 (§12).
	m := sb.scka.es[esSize-mSize:]
	var zero [ekSize]byte
	ct, ss := kpkeEncrypt(zero[:], sb.scka.hdr, m)
	assert.Equal(t, sb.scka.ct1, ct[:ct1Size])
	// B's authenticator is A's updated with K_1 = SCKA key of ss.
	k1 := epochSecret(1, ss[:])
	auth := sa.scka.auth
	auth.update(1, k1[:])
	assert.Equal(t, auth, sb.scka.auth)
	// encaps2 with A's ek, then decapsulation with A's dk, agree on ss.
	ct2 := encaps2(sa.scka.dk[1152:2304], sb.scka.hdr, sb.scka.es)
	got, err := decaps(sa.scka.dk, sb.scka.ct1, ct2)
	require.NoError(t, err)
	assert.Equal(t, ss, got)

	// Chains: start from auth_key, 30 steps each way, B has added epoch 1.
	ca := newChain(authKey29, A2B, ChainParams{})
	cb := newChain(authKey29, B2A, ChainParams{})
	for range 30 {
		_, _, err := ca.sendKey(0)
		require.NoError(t, err)
		_, _, err = cb.sendKey(0)
		require.NoError(t, err)
	}
	assert.Equal(t, ca.links[0].send, sa.chain.links[0].send)
	assert.Equal(t, cb.links[0].send, sb.chain.links[0].send)
	assert.Equal(t, ca.links[0].send.next, sb.chain.links[0].recv.next)
	require.NoError(t, cb.addEpoch(1, k1[:]))
	assert.Equal(t, cb.nextRoot, sb.chain.nextRoot)
	assert.Equal(t, cb.links[1], sb.chain.links[1])

	// The encoders and decoders hold what the peer sent: B's CT1 encoder
	// holds ct1, A's CT1 decoder the first chunks of it.
	ct1Enc := newEncoder(sb.scka.ct1)
	assert.Equal(t, ct1Enc.pts, sb.scka.enc.pts)
	for p := range numPolys {
		for _, pt := range sa.scka.dec.pts[p] {
			assert.Equal(t, ct1Enc.pts[p][pt.x], pt.y)
		}
	}
	ekEnc := newEncoder(sa.scka.dk[1152:2304])
	assert.Equal(t, ekEnc.pts, sa.scka.enc.pts)
}

func TestStateRejectsGarbage(t *testing.T) {
	a, b := fixtures(t)
	for _, in := range [][]byte{a, b} {
		for _, cut := range []int{1, 7, 100, 2000, len(in) - 1} {
			_, err := parseState(in[:cut])
			require.ErrorIs(t, err, ErrStateDecode, "cut at %d", cut)
		}
	}
	_, err := parseState([]byte{0xff})
	require.ErrorIs(t, err, ErrStateDecode)
	_, err = parseState([]byte{0x1a, 0x00}) // v1 present but empty
	require.ErrorIs(t, err, ErrStateDecode)
}

func TestFormatHidesSecrets(t *testing.T) {
	_, b := fixtures(t)
	st, err := parseState(b)
	require.NoError(t, err)
	neg := negotiation{authKey: authKey29, dir: B2A, minVersion: 1}
	for _, s := range []string{
		fmt.Sprintf("%v %+v %#v %s", *st, *st, *st, *st),
		fmt.Sprintf("%v %+v %#v", *st.scka, *st.scka, *st.scka),
		fmt.Sprintf("%v %+v %#v", neg, neg, neg),
		fmt.Sprintf("%v %+v %#v", *st.chain, *st.chain, *st.chain),
		fmt.Sprintf("%v %+v %#v", st.chain.links[1], st.chain.links[1].send, st.chain.links),
		fmt.Sprintf("%v %+v", epochSecretOut{1, [32]byte(st.chain.nextRoot)}, entropy{injected: true, m: st.scka.es[esSize-mSize:]}),
	} {
		assert.NotContains(t, s, "41") // 0x29 as decimal
		assert.NotContains(t, s, "29 29")
		for _, secret := range [][]byte{st.scka.auth.root[:], st.scka.auth.mac[:], st.scka.es[esSize-mSize:], st.chain.nextRoot[:], st.chain.links[1].send.next[:], st.chain.links[1].recv.next[:]} {
			assert.NotContains(t, s, fmt.Sprintf("%x", secret[:4]))
			assert.NotContains(t, s, fmt.Sprint(secret[:4])[1:8])
		}
	}
}
