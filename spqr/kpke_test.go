package spqr

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLibcruxES checks the es written by libcrux in fixture B (big-endian,
// libcrux issue 1275): e2 and m are reproduced exactly, r_hat modulo q, and
// ct2 computed from it equals circl's re-encryption.
func TestLibcruxES(t *testing.T) {
	fa, fb := fixtures(t)
	sa, err := parseState(fa)
	require.NoError(t, err)
	sb, err := parseState(fb)
	require.NoError(t, err)
	es := sb.scka.es
	o, ok := esOrder(es)
	require.True(t, ok)
	assert.Equal(t, binary.ByteOrder(binary.BigEndian), o)

	mine := libcruxES(es[esSize-mSize:], sb.scka.hdr[32:])
	mo, ok := esOrder(mine)
	require.True(t, ok)
	assert.Equal(t, binary.ByteOrder(binary.LittleEndian), mo)
	for i := range esPolys {
		want := getPoly(es[2*kyberN*i:], o)
		got := getPoly(mine[2*kyberN*i:], mo)
		assert.Equal(t, want, got, "polynomial %d", i)
	}
	// e2 is stored exactly (its coefficients are small).
	for j := range kyberN {
		off := 2*kyberN*kyberK + 2*j
		assert.Equal(t, int16(o.Uint16(es[off:])), int16(mo.Uint16(mine[off:])))
	}
	assert.Equal(t, es[esSize-mSize:], mine[esSize-mSize:])
	// Byte for byte once swapped: libcrux also writes centred values.
	swapped := append([]byte(nil), mine...)
	for i := 0; i < esSize-mSize; i += 2 {
		swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
	}
	assert.Equal(t, es, swapped)

	ek := sa.scka.dk[1152:2304]
	viaCircl := encaps2(ek, sb.scka.hdr, es)
	viaES, ok := ct2FromES(ek, es)
	require.True(t, ok)
	assert.Equal(t, viaCircl, viaES)
	viaMine, ok := ct2FromES(ek, mine)
	require.True(t, ok)
	assert.Equal(t, viaCircl, viaMine)
	// And A decapsulates it to the epoch's secret.
	var zero [ekSize]byte
	_, ss := kpkeEncrypt(zero[:], sb.scka.hdr, es[esSize-mSize:])
	got, err := decaps(sa.scka.dk, sb.scka.ct1, viaES)
	require.NoError(t, err)
	assert.Equal(t, ss, got)
}

func TestESValidation(t *testing.T) {
	_, b := fixtures(t)
	sb, err := parseState(b)
	require.NoError(t, err)
	es := append([]byte(nil), sb.scka.es...)
	// An e2 coefficient of 3 is neither byte order.
	binary.BigEndian.PutUint16(es[2*kyberN*kyberK:], 3)
	_, ok := esOrder(es)
	assert.False(t, ok)
	_, ok = ct2FromES(make([]byte, ekSize), es)
	assert.False(t, ok)
	// A pk2 value >= q is rejected.
	bad := make([]byte, ekSize)
	bad[0], bad[1] = 0x01, 0x0d // 0xd01 = 3329
	assert.False(t, ekValid(bad))
	assert.True(t, ekValid(make([]byte, ekSize)))
	_, ok = ct2FromES(bad, sb.scka.es)
	assert.False(t, ok)
}

func TestNTTRoundTrip(t *testing.T) {
	var f poly
	for i := range f {
		f[i] = int32(i*i*7+3) % kyberQ
	}
	g := f
	g.ntt()
	assert.NotEqual(t, f, g)
	g.invNTT()
	assert.Equal(t, f, g)
}
