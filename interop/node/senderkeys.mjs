// Sender key commands of interop/PEER.md ("Sender keys", feature
// sender_keys) for the libsignal Node peer (peer.mjs), for both libsignal
// 0.72.1 and 0.103.0: sender_key_create, sender_key_process, group_encrypt,
// group_decrypt, sender_key_export, sender_key_import. libsignal has only its
// own format, so a request with "format" other than "libsignal" is answered
// `unsupported`.
//
// peer.mjs calls installSenderKeys once with its tables and helpers; records
// live in an in-memory SenderKeyStore per party, kept serialized so that only
// saveSenderKey changes a stored record.

export function installSenderKeys(ctx) {
  const {
    SC, HANDLERS, COMMANDS, FEATURES, requireParty, PeerError, bad,
    bytesParam, strParam, boolParam, intParam, hex, utf8OrNull,
  } = ctx;

  class MemSenderKeyStore extends SC.SenderKeyStore {
    constructor() { super(); this.m = new Map(); }
    static k(addr, id) { return `${addr.name()}\u0000${addr.deviceId()}\u0000${String(id).toLowerCase()}`; }
    async saveSenderKey(addr, id, record) { this.m.set(MemSenderKeyStore.k(addr, id), Buffer.from(record.serialize())); }
    async getSenderKey(addr, id) {
      const b = this.m.get(MemSenderKeyStore.k(addr, id));
      return b ? SC.SenderKeyRecord.deserialize(b) : null;
    }
  }

  const stores = new WeakMap();
  function party() {
    const p = requireParty();
    if (!stores.has(p)) stores.set(p, new MemSenderKeyStore());
    return { p, store: stores.get(p) };
  }

  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  function distributionId(req) {
    const id = strParam(req, 'distribution_id', undefined);
    if (id === undefined) throw bad('missing distribution_id');
    if (!UUID.test(id)) throw bad('distribution_id: not a UUID');
    return id.toLowerCase();
  }
  function checkFormat(req) {
    const f = strParam(req, 'format', 'libsignal');
    if (f !== 'libsignal') throw new PeerError('unsupported', `libsignal has no ${f} sender key format`);
  }
  // sender reads "sender" (a name with sender_device, or {name, device_id}),
  // or gives this party's own address when optional and absent.
  function sender(req, p, optional) {
    const s = req.sender;
    if (s === undefined || s === null) {
      if (optional) return p.addr;
      throw bad('missing sender');
    }
    if (typeof s === 'string') {
      const dev = intParam(req, 'sender_device', intParam(req, 'peer_device', 1, { min: 1, max: 0x7fffffff }), { min: 1, max: 0x7fffffff });
      return SC.ProtocolAddress.new(s, dev);
    }
    if (typeof s === 'object' && !Array.isArray(s) && typeof s.name === 'string') {
      return SC.ProtocolAddress.new(s.name, intParam(s, 'device_id', 1, { min: 1, max: 0x7fffffff }));
    }
    throw bad('sender: expected string or {name, device_id}');
  }

  async function cmdCreate(req) {
    checkFormat(req);
    const { p, store } = party();
    const id = distributionId(req);
    if (boolParam(req, 'fresh', false)) store.m.delete(MemSenderKeyStore.k(p.addr, id));
    const skdm = await SC.SenderKeyDistributionMessage.create(p.addr, id, store);
    return {
      skdm: hex(skdm.serialize()), distribution_id: String(skdm.distributionId()).toLowerCase(),
      chain_id: skdm.chainId(), iteration: skdm.iteration(),
    };
  }

  async function cmdProcess(req) {
    checkFormat(req);
    const { p, store } = party();
    const from = sender(req, p, false);
    const buf = bytesParam(req, 'skdm', { required: true });
    let skdm;
    try { skdm = SC.SenderKeyDistributionMessage.deserialize(buf); } catch (e) { throw new PeerError('invalid_message', e.message); }
    await SC.processSenderKeyDistributionMessage(from, skdm, store);
    return { distribution_id: String(skdm.distributionId()).toLowerCase(), chain_id: skdm.chainId(), iteration: skdm.iteration() };
  }

  async function cmdEncrypt(req) {
    checkFormat(req);
    const { p, store } = party();
    const id = distributionId(req);
    const pt = bytesParam(req, 'plaintext', { allowText: true, required: true });
    const ct = await SC.groupEncrypt(p.addr, id, store, pt);
    const b = Buffer.from(ct.serialize());
    return { type: ct.type(), ciphertext: hex(b), version: b[0] >> 4 };
  }

  async function cmdDecrypt(req) {
    checkFormat(req);
    const { p, store } = party();
    const from = sender(req, p, false);
    const ct = bytesParam(req, 'ciphertext', { required: true });
    let id = null;
    try { id = String(SC.SenderKeyMessage.deserialize(ct).distributionId()).toLowerCase(); } catch { /* groupDecrypt reports it */ }
    const pt = await SC.groupDecrypt(from, store, ct);
    return { plaintext: hex(pt), text: utf8OrNull(pt), distribution_id: id };
  }

  async function cmdExport(req) {
    checkFormat(req);
    const { p, store } = party();
    const rec = await store.getSenderKey(sender(req, p, true), distributionId(req));
    return { record: rec ? hex(rec.serialize()) : null };
  }

  async function cmdImport(req) {
    checkFormat(req);
    const { p, store } = party();
    const from = sender(req, p, true);
    const id = distributionId(req);
    const buf = bytesParam(req, 'record', { required: true });
    let rec;
    try { rec = SC.SenderKeyRecord.deserialize(buf); } catch (e) { throw new PeerError('invalid_record', e.message); }
    await store.saveSenderKey(from, id, rec);
    return {};
  }

  Object.assign(HANDLERS, {
    sender_key_create: cmdCreate, sender_key_process: cmdProcess,
    group_encrypt: cmdEncrypt, group_decrypt: cmdDecrypt,
    sender_key_export: cmdExport, sender_key_import: cmdImport,
  });
  COMMANDS.push('sender_key_create', 'sender_key_process', 'group_encrypt', 'group_decrypt', 'sender_key_export', 'sender_key_import');
  FEATURES.push('sender_keys');
  // For sealed.mjs: the current party's sender key store.
  return { senderKeyStore: () => party().store };
}

// senderKeyError names libsignal's sender key errors as PEER.md does, or
// returns null. libsignal reports a missing state as "missing sender key
// state for distribution ID ..." (NoSenderKeyState, code Generic).
export function senderKeyError(msg) {
  const m = msg.toLowerCase();
  if (m.includes('sender key state') || m.includes('no sender key')) return 'no_sender_key';
  return null;
}
