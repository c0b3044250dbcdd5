package spqr

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// authKey29 is the auth key of the spqr fixtures and the §12 vectors.
var authKey29 = bytes.Repeat([]byte{0x29}, 32)

func TestChainStartVectors(t *testing.T) {
	a := newChain(authKey29, A2B, ChainParams{})
	assert.Equal(t, "c6f396ad3b038d7bb7eedbabd7c45c83eef0c9c42fca9f44d6f056e4b68be30c", hex.EncodeToString(a.nextRoot[:]))
	assert.Equal(t, "d45d5d9ebca8f45f591019cfe4231f37663b50de7c9d419e8eb4dd50f3726384", hex.EncodeToString(a.links[0].send.next))
	assert.Equal(t, "598c199754146d732fe1bf89926833f0ed44b8a5220b662bdf0398c28c4f49ab", hex.EncodeToString(a.links[0].recv.next))
	b := newChain(authKey29, B2A, ChainParams{})
	assert.Equal(t, a.links[0].send.next, b.links[0].recv.next)
	assert.Equal(t, a.links[0].recv.next, b.links[0].send.next)

	idx, key, err := a.sendKey(0)
	require.NoError(t, err)
	assert.Equal(t, uint32(1), idx)
	assert.Equal(t, "9bcdfae095d09aa8ab367dd231d1d271fe580b555bcc6f64ff079d53d9a9db5d", hex.EncodeToString(key[:]))
	got, err := b.recvKey(0, 1)
	require.NoError(t, err)
	assert.Equal(t, key, got)
}

func TestChainOutOfOrder(t *testing.T) {
	a := newChain(authKey29, A2B, ChainParams{MaxJump: 50, MaxOOOKeys: 10})
	b := newChain(authKey29, B2A, ChainParams{MaxJump: 50, MaxOOOKeys: 10})
	keys := map[uint32][32]byte{}
	for range 40 {
		i, k, err := a.sendKey(0)
		require.NoError(t, err)
		keys[i] = k
	}
	// In order, then a skip, then the skipped ones late.
	k, err := b.recvKey(0, 1)
	require.NoError(t, err)
	assert.Equal(t, keys[1], k)
	_, err = b.recvKey(0, 1)
	require.ErrorIs(t, err, ErrKeyAlreadyRequested)
	k, err = b.recvKey(0, 8)
	require.NoError(t, err)
	assert.Equal(t, keys[8], k)
	for _, i := range []uint32{5, 2, 7} {
		k, err = b.recvKey(0, i)
		require.NoError(t, err)
		assert.Equal(t, keys[i], k, "key %d", i)
	}
	_, err = b.recvKey(0, 5)
	require.ErrorIs(t, err, ErrKeyAlreadyRequested)
	// Jump to 20: keys below 20-10 are trimmed.
	k, err = b.recvKey(0, 20)
	require.NoError(t, err)
	assert.Equal(t, keys[20], k)
	_, err = b.recvKey(0, 9)
	require.ErrorIs(t, err, ErrKeyTrimmed)
	k, err = b.recvKey(0, 10)
	require.NoError(t, err)
	assert.Equal(t, keys[10], k)
	_, err = b.recvKey(0, 20+51)
	require.ErrorIs(t, err, ErrKeyJump)
	_, err = b.recvKey(1, 1)
	require.ErrorIs(t, err, ErrEpochOutOfRange)
}

func TestChainEpochs(t *testing.T) {
	a := newChain(authKey29, A2B, ChainParams{})
	b := newChain(authKey29, B2A, ChainParams{})
	secret := bytes.Repeat([]byte{7}, 32)
	require.ErrorIs(t, a.addEpoch(2, secret), ErrEpochOutOfRange)
	require.NoError(t, a.addEpoch(1, secret))
	require.NoError(t, b.addEpoch(1, secret))
	_, _, err := a.sendKey(2)
	require.ErrorIs(t, err, ErrEpochOutOfRange)
	i0, k0, err := a.sendKey(0)
	require.NoError(t, err)
	i1, k1, err := a.sendKey(1)
	require.NoError(t, err)
	assert.Equal(t, uint32(1), i0)
	assert.Equal(t, uint32(1), i1)
	assert.NotEqual(t, k0, k1)
	_, _, err = a.sendKey(0)
	require.ErrorIs(t, err, ErrSendKeyEpochDecreased)
	got, err := b.recvKey(1, 1)
	require.NoError(t, err)
	assert.Equal(t, k1, got)
	got, err = b.recvKey(0, 1)
	require.NoError(t, err)
	assert.Equal(t, k0, got)
	// Sending in epoch 3 drops epoch 1 and older.
	require.NoError(t, a.addEpoch(2, secret))
	require.NoError(t, a.addEpoch(3, secret))
	_, _, err = a.sendKey(3)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), a.firstEpoch())
	assert.Empty(t, a.links[0].send.next)
	_, err = a.recvKey(1, 1)
	require.ErrorIs(t, err, ErrEpochOutOfRange)
}

func TestChainHistoryGC(t *testing.T) {
	c := newChain(authKey29, B2A, ChainParams{MaxOOOKeys: 10})
	// 12 skipped then 30 more: history never exceeds trim size 12 entries
	// by more than one step's worth.
	_, err := c.recvKey(0, 11)
	require.NoError(t, err)
	assert.Equal(t, 10*histEntry, len(c.links[0].recv.prev))
	for i := uint32(13); i < 60; i += 2 {
		_, err = c.recvKey(0, i)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(c.links[0].recv.prev), 13*histEntry)
	}
	_, err = c.recvKey(0, 50)
	require.NoError(t, err)
	_, err = c.recvKey(0, 20)
	require.ErrorIs(t, err, ErrKeyTrimmed)
}

func TestChainFormatHidesKeys(t *testing.T) {
	c := newChain(authKey29, A2B, ChainParams{})
	a := newAuthenticator(authKey29, 1)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", *c, *c, *c, *c), fmt.Sprintf("%v %+v %#v", a, a, a)} {
		assert.NotContains(t, s, "c6f3")
		assert.NotContains(t, s, "198")
		assert.NotContains(t, s, "72")
	}
}

func TestAuthenticatorVectors(t *testing.T) {
	a := newAuthenticator(authKey29, 1)
	assert.Equal(t, "486eb283e739a2b7baea016d6a70df801616dfbf3f022b77a27cfaa3360348a0", hex.EncodeToString(a.root[:]))
	assert.Equal(t, "5a368111ae4f8d5d407e4b9a369e67af9e01d9449cf2b5e50cede3f7ab525a1e", hex.EncodeToString(a.mac[:]))
	hdr := bytes.Repeat([]byte{1}, 64)
	m := a.macHdr(1, hdr)
	require.NoError(t, a.verifyHdr(1, hdr, m[:]))
	require.ErrorIs(t, a.verifyHdr(2, hdr, m[:]), ErrErroneousData)
	m[0] ^= 1
	require.ErrorIs(t, a.verifyHdr(1, hdr, m[:]), ErrErroneousData)
	c := a.macCt(1, hdr[:10], hdr[10:])
	require.NoError(t, a.verifyCt(1, hdr[:10], hdr[10:], c[:]))
	require.ErrorIs(t, a.verifyCt(1, hdr[:11], hdr[11:], c[:31]), ErrErroneousData)
}
