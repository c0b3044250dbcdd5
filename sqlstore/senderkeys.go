package sqlstore

import (
	"context"

	"github.com/ratchetlab/signal/senderkey"
	"github.com/ratchetlab/signal/session"
)

// LoadSenderKey implements session.SenderKeyStore.
func (v *view) LoadSenderKey(ctx context.Context, sender session.Address, id senderkey.DistributionID) (*senderkey.Record, error) {
	v = v.in(ctx)
	b, ok, err := v.get(ctx, "LoadSenderKey", "SELECT record FROM sender_keys WHERE name = ? AND device_id = ? AND distribution_id = ?",
		sender.Name, int64(sender.DeviceID), id[:])
	if err != nil || !ok {
		return nil, err
	}
	return senderkey.ParseRecord(b)
}

// StoreSenderKey implements session.SenderKeyStore.
func (v *view) StoreSenderKey(ctx context.Context, sender session.Address, id senderkey.DistributionID, r *senderkey.Record) error {
	v = v.in(ctx)
	b, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = v.exec(ctx, "StoreSenderKey", `INSERT INTO sender_keys (name, device_id, distribution_id, record) VALUES (?, ?, ?, ?)
ON CONFLICT (name, device_id, distribution_id) DO UPDATE SET record = excluded.record`,
		sender.Name, int64(sender.DeviceID), id[:], b)
	clear(b)
	return err
}
