// Interop peer wrapping Signal's libsignal (npm @signalapp/libsignal-client,
// pinned by package-lock.json), speaking the JSON-lines protocol of
// interop/PEER.md: one JSON request per line on stdin, one JSON reply per line
// on stdout, in order. All state is in memory; one process is one party.
//
// Run: node interop/node/peer.mjs      (libsignal 0.72.1, after `npm ci` in interop/node)
//      node interop/node103/peer.mjs   (libsignal 0.103.0, after `npm ci` in interop/node103)
//
// The package is resolved from the directory of the script node was started
// with (process.argv[1]), so node103/peer.mjs, which only imports this file,
// runs the same code against its own node_modules. The differences between
// the two releases are detected, not configured:
//   - 0.103 takes the local ProtocolAddress in processPreKeyBundle,
//     signalEncrypt, signalDecrypt and signalDecryptPreKey (detected from the
//     functions' arity);
//   - from 0.92 on, every new session runs SPQR (the post-quantum triple
//     ratchet) and X3DH sessions can be neither started nor accepted, so the
//     peer lists "spqr" instead of "x3dh" and reports `requires: ["spqr"]` in
//     `info` (a counterpart without SPQR cannot start a session with it); it
//     also lists "continues_classical": classical sessions imported from a
//     record still work.

import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { installSenderKeys, senderKeyError } from './senderkeys.mjs';
import { installSealed } from './sealed.mjs';

const PKG = '@signalapp/libsignal-client';
const entry = resolve(process.argv[1] || '.');
const require = createRequire(entry);
const pkgMain = require.resolve(PKG);
const SC = await (async () => {
  const ns = await import(pathToFileURL(pkgMain).href);
  return ns.SessionStore ? ns : ns.default; // ESM (0.103) or CommonJS (0.72)
})();
const LIB_VERSION = (() => {
  for (let d = dirname(pkgMain); d !== dirname(d); d = dirname(d)) {
    try {
      const j = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8'));
      if (j.name === PKG) return j.version;
    } catch { /* keep walking up */ }
  }
  throw new Error(`cannot find the version of ${PKG}`);
})();
const [MAJOR, MINOR] = LIB_VERSION.split('.').map(Number);
// SPQR is mandatory from libsignal 0.92 on (SPQR.md §11).
const SPQR = MAJOR > 0 || MINOR >= 92;
// 0.103: (message, address, localAddress, sessionStore, identityStore); 0.72: no localAddress.
const LOCAL_ADDRESS = SC.signalDecrypt.length >= 5;

const IMPLEMENTATION = 'libsignal-node';
const VERSION = LIB_VERSION;
const COMMANDS = [
  'info', 'init', 'prekeys', 'process_bundle', 'encrypt', 'decrypt',
  'session_export', 'session_import', 'session_info', 'session_delete',
  'identity', 'fingerprint', 'fingerprint_compare', 'quit',
];
// continues_classical: stored classical sessions (X3DH, PQXDH without SPQR)
// imported with session_import still encrypt and decrypt, although new ones
// can be neither started nor accepted (and SessionRecord.hasCurrentState(),
// which requires SPQR state, reports them unusable).
const FEATURES = SPQR ? ['pqxdh', 'spqr', 'continues_classical'] : ['pqxdh', 'x3dh'];
const REQUIRES = SPQR ? ['spqr'] : [];
const RECORD_FORMAT = 'libsignal'; // session_export/import: libsignal RecordStructure protobuf
const MAX_LINE = 64 << 20; // we accept lines well beyond the 16 MiB minimum

// ---------------------------------------------------------------------------
// Errors

class PeerError extends Error {
  constructor(name, message) {
    super(message);
    this.errName = name;
  }
}
const bad = (msg) => new PeerError('bad_request', msg);

// mapError turns anything thrown by libsignal (or by us) into [name, message].
function mapError(e) {
  if (e instanceof PeerError) return [e.errName, e.message];
  const msg = String((e && e.message) || e);
  if (senderKeyError(msg)) return [senderKeyError(msg), msg];
  if (e && typeof e.code === 'number' && e instanceof SC.LibSignalErrorBase) {
    switch (e.code) {
      case SC.ErrorCode.DuplicatedMessage: return ['duplicate_message', msg];
      case SC.ErrorCode.UntrustedIdentity: return ['untrusted_identity', msg];
      case SC.ErrorCode.InvalidRegistrationId: return ['invalid_registration_id', msg];
      case SC.ErrorCode.VerificationFailed: return ['invalid_signature', msg];
      case SC.ErrorCode.InvalidSession: return ['no_session', msg];
      default: break;
    }
  }
  // libsignal reports most protocol errors as Generic; classify by its text.
  const m = msg.toLowerCase();
  if (m.includes('untrusted identity')) return ['untrusted_identity', msg];
  if (m.includes('duplicate') || m.includes('old counter')) return ['duplicate_message', msg];
  if (m.includes('session') && m.includes('not found')) return ['no_session', msg];
  if (m.includes('no session')) return ['no_session', msg];
  if (m.includes('invalid prekey message') || m.includes('invalid whisper message') ||
      m.includes('invalid message') || m.includes('decryption failed') || m.includes('protobuf') ||
      m.includes('too short') || m.includes('mac')) return ['invalid_message', msg];
  if (m.includes('version')) {
    return m.includes('fingerprint') ? ['fingerprint_version_mismatch', msg] : ['invalid_version', msg];
  }
  if (m.includes('fingerprint')) return ['invalid_fingerprint', msg];
  if (m.includes('signature')) return ['invalid_signature', msg];
  if (m.includes('pre-key') || m.includes('prekey')) return ['invalid_key_id', msg];
  if (m.includes('bad key type') || m.includes('bad key length') || m.includes('invalid key') ||
      m.includes('kem') || m.includes('key type')) return ['invalid_key', msg];
  if (e instanceof TypeError || e instanceof RangeError) return ['bad_request', msg];
  return ['internal', msg];
}

// ---------------------------------------------------------------------------
// Parameter helpers (strict: wrong types are bad_request)

function hasOwn(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }

function hexToBuf(s, what) {
  if (typeof s !== 'string') throw bad(`${what}: expected hex string`);
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw bad(`${what}: invalid hex`);
  return Buffer.from(s, 'hex');
}

// bytesParam reads `name` (hex) or `name_text` (UTF-8). Returns undefined when absent.
function bytesParam(req, name, { allowText = false, required = false } = {}) {
  if (allowText && hasOwn(req, `${name}_text`) && req[`${name}_text`] !== null) {
    const t = req[`${name}_text`];
    if (typeof t !== 'string') throw bad(`${name}_text: expected string`);
    return Buffer.from(t, 'utf8');
  }
  if (hasOwn(req, name) && req[name] !== null) return hexToBuf(req[name], name);
  if (required) throw bad(`missing ${name}`);
  return undefined;
}

function intParam(req, name, def, { min = 0, max = 0xffffffff } = {}) {
  if (!hasOwn(req, name) || req[name] === undefined) return def;
  const v = req[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`${name}: expected integer in [${min}, ${max}]`);
  }
  return v;
}

function boolParam(req, name, def) {
  if (!hasOwn(req, name) || req[name] === null) return def;
  if (typeof req[name] !== 'boolean') throw bad(`${name}: expected boolean`);
  return req[name];
}

function strParam(req, name, def) {
  if (!hasOwn(req, name) || req[name] === null) return def;
  if (typeof req[name] !== 'string') throw bad(`${name}: expected string`);
  return req[name];
}

function privKey(buf, what) {
  if (buf.length !== 32) throw new PeerError('invalid_key', `${what}: expected 32 bytes`);
  try { return SC.PrivateKey.deserialize(buf); } catch (e) { throw new PeerError('invalid_key', `${what}: ${e.message}`); }
}

function pubKey(buf, what) {
  if (buf.length !== 33 || buf[0] !== 0x05) throw new PeerError('invalid_key', `${what}: expected 33-byte 0x05-prefixed key`);
  try { return SC.PublicKey.deserialize(buf); } catch (e) { throw new PeerError('invalid_key', `${what}: ${e.message}`); }
}

function kemPub(buf, what) {
  if (buf.length !== 1569 || buf[0] !== 0x08) throw new PeerError('invalid_key', `${what}: expected 1569-byte 0x08-prefixed key`);
  try { return SC.KEMPublicKey.deserialize(buf); } catch (e) { throw new PeerError('invalid_key', `${what}: ${e.message}`); }
}

// peerAddress reads `peer` (or `sender`): a name with peer_device, or {name, device_id}.
function peerAddress(req) {
  let p = hasOwn(req, 'peer') ? req.peer : req.sender;
  if (p === undefined || p === null) throw bad('missing peer');
  let name; let device;
  if (typeof p === 'string') {
    name = p;
    device = intParam(req, 'peer_device', 1, { min: 1, max: 0x7fffffff });
  } else if (typeof p === 'object' && !Array.isArray(p)) {
    if (typeof p.name !== 'string') throw bad('peer.name: expected string');
    name = p.name;
    device = intParam(p, 'device_id', 1, { min: 1, max: 0x7fffffff });
  } else {
    throw bad('peer: expected string or {name, device_id}');
  }
  return { name, device, key: `${name}\u0000${device}`, addr: SC.ProtocolAddress.new(name, device) };
}

const hex = (b) => Buffer.from(b).toString('hex');

function utf8OrNull(buf) {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------
// Protobuf writer, only to build a KyberPreKeyRecord from a given secret key
// (libsignal's SignedPreKeyRecordStructure: 1 id, 2 public_key, 3 private_key,
// 4 signature, 5 timestamp), since the JS API only generates Kyber key pairs.

function varint(n) {
  const out = [];
  let v = BigInt(n);
  while (v >= 0x80n) { out.push(Number((v & 0x7fn) | 0x80n)); v >>= 7n; }
  out.push(Number(v));
  return Buffer.from(out);
}
function pbVarint(field, n) { return Buffer.concat([varint((field << 3) | 0), varint(n)]); }
function pbBytes(field, b) { return Buffer.concat([varint((field << 3) | 2), varint(b.length), b]); }
function pbFixed64(field, n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return Buffer.concat([varint((field << 3) | 1), b]);
}

// Kyber1024 secret key layout (after the 0x08 type byte): s(1536) || pk(1568) || H(pk)(32) || z(32).
function kyberRecordFromSecret(id, timestamp, secret, signFn) {
  if (secret.length !== 3169 || secret[0] !== 0x08) {
    throw new PeerError('invalid_key', 'kyber_priv: expected 0x08 || 3168 bytes');
  }
  const pub = Buffer.concat([Buffer.from([0x08]), secret.subarray(1 + 1536, 1 + 1536 + 1568)]);
  const sig = signFn(pub);
  const rec = Buffer.concat([
    pbVarint(1, id), pbBytes(2, pub), pbBytes(3, secret), pbBytes(4, sig), pbFixed64(5, timestamp),
  ]);
  try { return SC.KyberPreKeyRecord.deserialize(rec); } catch (e) { throw new PeerError('invalid_key', `kyber_priv: ${e.message}`); }
}

// ---------------------------------------------------------------------------
// In-memory stores. Records are kept serialized so that every load returns a
// fresh copy and nothing but saveSession changes a stored session.

class MemSessionStore extends SC.SessionStore {
  constructor() { super(); this.m = new Map(); }
  static k(addr) { return `${addr.name()}\u0000${addr.deviceId()}`; }
  async saveSession(addr, record) { this.m.set(MemSessionStore.k(addr), Buffer.from(record.serialize())); }
  async getSession(addr) {
    const b = this.m.get(MemSessionStore.k(addr));
    return b ? SC.SessionRecord.deserialize(b) : null;
  }
  async getExistingSessions(addrs) {
    const out = [];
    for (const a of addrs) {
      const r = await this.getSession(a);
      if (!r) throw new PeerError('no_session', `no session for ${a.name()}.${a.deviceId()}`);
      out.push(r);
    }
    return out;
  }
}

class MemIdentityStore extends SC.IdentityKeyStore {
  constructor(priv, regId, trust) {
    super();
    this.priv = priv; this.regId = regId; this.trust = trust; this.m = new Map();
  }
  static k(addr) { return `${addr.name()}\u0000${addr.deviceId()}`; }
  async getIdentityKey() { return this.priv; }
  async getLocalRegistrationId() { return this.regId; }
  async saveIdentity(addr, key) {
    const k = MemIdentityStore.k(addr);
    const old = this.m.get(k);
    const ser = Buffer.from(key.serialize());
    this.m.set(k, ser);
    return old !== undefined && !old.equals(ser) ? SC.IdentityChange.ReplacedExisting : SC.IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(addr, key, _direction) {
    if (this.trust === 'all') return true;
    const old = this.m.get(MemIdentityStore.k(addr));
    return old === undefined || old.equals(Buffer.from(key.serialize()));
  }
  async getIdentity(addr) {
    const b = this.m.get(MemIdentityStore.k(addr));
    return b ? SC.PublicKey.deserialize(b) : null;
  }
}

class MemPreKeyStore extends SC.PreKeyStore {
  constructor() { super(); this.m = new Map(); }
  async savePreKey(id, rec) { this.m.set(id, Buffer.from(rec.serialize())); }
  async getPreKey(id) {
    const b = this.m.get(id);
    if (!b) throw new PeerError('invalid_key_id', `no one-time pre-key ${id}`);
    return SC.PreKeyRecord.deserialize(b);
  }
  async removePreKey(id) { this.m.delete(id); }
}

class MemSignedPreKeyStore extends SC.SignedPreKeyStore {
  constructor() { super(); this.m = new Map(); }
  async saveSignedPreKey(id, rec) { this.m.set(id, Buffer.from(rec.serialize())); }
  async getSignedPreKey(id) {
    const b = this.m.get(id);
    if (!b) throw new PeerError('invalid_key_id', `no signed pre-key ${id}`);
    return SC.SignedPreKeyRecord.deserialize(b);
  }
}

class MemKyberPreKeyStore extends SC.KyberPreKeyStore {
  constructor() { super(); this.m = new Map(); }
  async saveKyberPreKey(id, rec) { this.m.set(id, Buffer.from(rec.serialize())); }
  async getKyberPreKey(id) {
    const b = this.m.get(id);
    if (!b) throw new PeerError('invalid_key_id', `no Kyber pre-key ${id}`);
    return SC.KyberPreKeyRecord.deserialize(b);
  }
  async markKyberPreKeyUsed(_id, _signedPreKeyId, _baseKey) { /* last-resort keys: kept */ }
}

// ---------------------------------------------------------------------------
// Party state

let party = null; // set by init

function requireParty() {
  if (!party) throw new PeerError('not_initialized', 'send init first');
  return party;
}

function cmdInit(req) {
  const name = strParam(req, 'name', 'local');
  const deviceId = intParam(req, 'device_id', 1, { min: 1, max: 0x7fffffff });
  const privBuf = bytesParam(req, 'identity_priv');
  const priv = privBuf === undefined ? SC.PrivateKey.generate() : privKey(privBuf, 'identity_priv');
  const regId = intParam(req, 'registration_id', 1 + Math.floor(Math.random() * 16380), { min: 0, max: 0x3fff });
  const trust = strParam(req, 'trust', 'all');
  if (trust !== 'all' && trust !== 'tofu') throw bad('trust: expected "all" or "tofu"');
  // spqr: whether sessions this party starts run SPQR. libsignal decides this
  // itself (always from 0.92 on, never before), so only the matching value is
  // accepted.
  const spqr = boolParam(req, 'spqr', SPQR);
  if (spqr !== SPQR) {
    throw new PeerError('unsupported', `libsignal ${LIB_VERSION} ${SPQR ? 'always' : 'never'} runs SPQR`);
  }
  const addr = SC.ProtocolAddress.new(name, deviceId); // checks the name and device id
  party = {
    name, deviceId, regId, trust, priv, pub: priv.getPublicKey(), addr,
    sessions: new MemSessionStore(),
    identities: new MemIdentityStore(priv, regId, trust),
    prekeys: new MemPreKeyStore(),
    signed: new MemSignedPreKeyStore(),
    kyber: new MemKyberPreKeyStore(),
  };
  return {
    name, device_id: deviceId, registration_id: regId,
    identity_key: hex(party.pub.serialize()), identity_priv: hex(priv.serialize()),
  };
}

function cmdPrekeys(req) {
  const p = requireParty();
  const sign = (buf) => p.priv.sign(buf);
  const now = Date.now();

  // Signed pre-key.
  const spkId = intParam(req, 'signed_prekey_id', 1, { min: 0, max: 0xffffff });
  const spkPrivBuf = bytesParam(req, 'signed_prekey_priv');
  const spkPriv = spkPrivBuf === undefined ? SC.PrivateKey.generate() : privKey(spkPrivBuf, 'signed_prekey_priv');
  const spkPub = spkPriv.getPublicKey();
  let spkSig = bytesParam(req, 'signed_prekey_signature');
  if (spkSig === undefined) spkSig = sign(spkPub.serialize());
  else if (spkSig.length !== 64) throw new PeerError('invalid_signature', 'signed_prekey_signature: expected 64 bytes');

  // One-time pre-key (explicit null = none).
  let pkId = null; let pkPriv = null;
  if (!(hasOwn(req, 'prekey_id') && req.prekey_id === null)) {
    pkId = intParam(req, 'prekey_id', 1, { min: 1, max: 0xffffff });
    const b = bytesParam(req, 'prekey_priv');
    pkPriv = b === undefined ? SC.PrivateKey.generate() : privKey(b, 'prekey_priv');
  }

  // Kyber pre-key.
  // kyber: false on 0.103 stores the keys and returns an X3DH bundle, which
  // no 0.103 party can use, but a party that moved here with a stored X3DH
  // session needs its signed pre-key back for PreKey messages in flight.
  const useKyber = boolParam(req, 'kyber', true);
  let kyberRec = null; let kyberId = null;
  if (useKyber) {
    kyberId = intParam(req, 'kyber_prekey_id', 1, { min: 0, max: 0xffffff });
    const kb = bytesParam(req, 'kyber_priv');
    const ksig = bytesParam(req, 'kyber_prekey_signature');
    if (ksig !== undefined && ksig.length !== 64) throw new PeerError('invalid_signature', 'kyber_prekey_signature: expected 64 bytes');
    if (kb === undefined) {
      const kp = SC.KEMKeyPair.generate();
      const sig = ksig !== undefined ? ksig : sign(kp.getPublicKey().serialize());
      kyberRec = SC.KyberPreKeyRecord.new(kyberId, now, kp, sig);
    } else {
      kyberRec = kyberRecordFromSecret(kyberId, now, kb, (pub) => (ksig !== undefined ? ksig : sign(pub)));
    }
  }

  // All checks passed: store.
  p.signed.m.set(spkId, Buffer.from(SC.SignedPreKeyRecord.new(spkId, now, spkPub, spkPriv, spkSig).serialize()));
  if (pkId !== null) p.prekeys.m.set(pkId, Buffer.from(SC.PreKeyRecord.new(pkId, pkPriv.getPublicKey(), pkPriv).serialize()));
  if (kyberRec) p.kyber.m.set(kyberId, Buffer.from(kyberRec.serialize()));

  return {
    bundle: {
      registration_id: p.regId,
      device_id: p.deviceId,
      identity_key: hex(p.pub.serialize()),
      signed_prekey_id: spkId,
      signed_prekey: hex(spkPub.serialize()),
      signed_prekey_signature: hex(spkSig),
      prekey_id: pkId,
      prekey: pkPriv ? hex(pkPriv.getPublicKey().serialize()) : null,
      kyber_prekey_id: kyberRec ? kyberId : null,
      kyber_prekey: kyberRec ? hex(kyberRec.publicKey().serialize()) : null,
      kyber_prekey_signature: kyberRec ? hex(kyberRec.signature()) : null,
    },
    private: {
      identity_priv: hex(p.priv.serialize()),
      signed_prekey_priv: hex(spkPriv.serialize()),
      prekey_priv: pkPriv ? hex(pkPriv.serialize()) : null,
      kyber_priv: kyberRec ? hex(kyberRec.secretKey().serialize()) : null,
    },
  };
}

function parseBundle(b) {
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw bad('bundle: expected object');
  const regId = intParam(b, 'registration_id', undefined, { min: 0, max: 0xffffffff });
  if (regId === undefined) throw bad('bundle.registration_id missing');
  const deviceId = intParam(b, 'device_id', 1, { min: 1, max: 0x7fffffff });
  const ik = pubKey(bytesParam(b, 'identity_key', { required: true }), 'bundle.identity_key');
  const spkId = intParam(b, 'signed_prekey_id', undefined);
  if (spkId === undefined) throw bad('bundle.signed_prekey_id missing');
  const spk = pubKey(bytesParam(b, 'signed_prekey', { required: true }), 'bundle.signed_prekey');
  const spkSig = bytesParam(b, 'signed_prekey_signature', { required: true });
  let pkId = null; let pk = null;
  const hasPkId = hasOwn(b, 'prekey_id') && b.prekey_id !== null;
  const hasPk = hasOwn(b, 'prekey') && b.prekey !== null;
  if (hasPkId !== hasPk) throw bad('bundle: prekey_id and prekey must both be set or both null');
  if (hasPk) {
    pkId = intParam(b, 'prekey_id', undefined);
    pk = pubKey(bytesParam(b, 'prekey'), 'bundle.prekey');
  }
  const kf = ['kyber_prekey_id', 'kyber_prekey', 'kyber_prekey_signature'].map((f) => hasOwn(b, f) && b[f] !== null);
  if (kf.some((x) => x) && !kf.every((x) => x)) throw bad('bundle: kyber_* fields must be all set or all null');
  if (kf[0]) {
    const kid = intParam(b, 'kyber_prekey_id', undefined);
    const kpk = kemPub(bytesParam(b, 'kyber_prekey'), 'bundle.kyber_prekey');
    const ksig = bytesParam(b, 'kyber_prekey_signature');
    return SC.PreKeyBundle.new(regId, deviceId, pkId, pk, spkId, spk, spkSig, ik, kid, kpk, ksig);
  }
  if (SPQR) throw new PeerError('unsupported', `libsignal ${LIB_VERSION} neither starts nor accepts X3DH sessions`);
  return SC.PreKeyBundle.new(regId, deviceId, pkId, pk, spkId, spk, spkSig, ik);
}

// local returns the extra local-address argument of the session functions
// (libsignal 0.103), or nothing (0.72).
function local(p) { return LOCAL_ADDRESS ? [p.addr] : []; }

async function cmdProcessBundle(req) {
  const p = requireParty();
  const a = peerAddress(req);
  if (!hasOwn(req, 'bundle')) throw bad('missing bundle');
  const bundle = parseBundle(req.bundle);
  await SC.processPreKeyBundle(bundle, a.addr, ...local(p), p.sessions, p.identities);
  return { peer: { name: a.name, device_id: a.device } };
}

async function cmdEncrypt(req) {
  const p = requireParty();
  const a = peerAddress(req);
  const pt = bytesParam(req, 'plaintext', { allowText: true, required: true });
  if (!p.sessions.m.has(a.key)) throw new PeerError('no_session', `no session for ${a.name}.${a.device}`);
  const ct = await SC.signalEncrypt(pt, a.addr, ...local(p), p.sessions, p.identities);
  const bytes = ct.serialize();
  return { type: ct.type(), ciphertext: hex(bytes), version: bytes.length > 0 ? bytes[0] >> 4 : null };
}

function parseType(req) {
  if (!hasOwn(req, 'type') || req.type === null) return null;
  const t = req.type;
  if (t === 2 || t === 'whisper') return 2;
  if (t === 3 || t === 'prekey') return 3;
  throw bad('type: expected 2, 3, "whisper" or "prekey"');
}

async function cmdDecrypt(req) {
  const p = requireParty();
  const a = peerAddress(req);
  const ct = bytesParam(req, 'ciphertext', { required: true });
  if (ct.length === 0) throw new PeerError('invalid_message', 'empty ciphertext');
  let type = parseType(req);
  let msg = null;
  if (type === null) {
    try { msg = SC.PreKeySignalMessage.deserialize(ct); type = 3; } catch { type = 2; }
  }
  const version = ct[0] >> 4;
  let pt;
  if (type === 3) {
    if (!msg) msg = SC.PreKeySignalMessage.deserialize(ct);
    pt = await SC.signalDecryptPreKey(msg, a.addr, ...local(p), p.sessions, p.identities, p.prekeys, p.signed, p.kyber);
  } else {
    const m = SC.SignalMessage.deserialize(ct);
    if (!p.sessions.m.has(a.key)) throw new PeerError('no_session', `no session for ${a.name}.${a.device}`);
    pt = await SC.signalDecrypt(m, a.addr, ...local(p), p.sessions, p.identities);
  }
  return { plaintext: hex(pt), text: utf8OrNull(pt), version };
}

function cmdSessionExport(req) {
  const p = requireParty();
  const a = peerAddress(req);
  const b = p.sessions.m.get(a.key);
  return { record: b ? hex(b) : null };
}

function cmdSessionImport(req) {
  const p = requireParty();
  const a = peerAddress(req);
  const b = bytesParam(req, 'record', { required: true });
  let rec;
  try { rec = SC.SessionRecord.deserialize(b); } catch (e) { throw new PeerError('invalid_record', e.message); }
  p.sessions.m.set(a.key, Buffer.from(rec.serialize()));
  return { has_current_state: rec.hasCurrentState() };
}

function cmdSessionInfo(req) {
  const p = requireParty();
  const a = peerAddress(req);
  const b = p.sessions.m.get(a.key);
  if (!b) return { has_session: false, has_current_state: false, remote_registration_id: null, record_len: 0 };
  const rec = SC.SessionRecord.deserialize(b);
  const cur = rec.hasCurrentState();
  let rid = null;
  if (cur) { try { rid = rec.remoteRegistrationId(); } catch { rid = null; } }
  return { has_session: true, has_current_state: cur, remote_registration_id: rid, record_len: b.length };
}

function cmdSessionDelete(req) {
  const p = requireParty();
  const a = peerAddress(req);
  return { deleted: p.sessions.m.delete(a.key) };
}

function cmdIdentity(req) {
  const p = requireParty();
  const a = peerAddress(req);
  const b = p.identities.m.get(a.key);
  return { identity_key: b ? hex(b) : null };
}

function cmdFingerprint(req) {
  const iterations = intParam(req, 'iterations', 5200, { min: 1, max: 1 << 20 });
  const version = intParam(req, 'version', 2, { min: 0, max: 0xffffffff });
  const localId = bytesParam(req, 'local_id', { allowText: true, required: true });
  const remoteId = bytesParam(req, 'remote_id', { allowText: true, required: true });
  const lk = bytesParam(req, 'local_key');
  const localKey = lk === undefined ? requireParty().pub : pubKey(lk, 'local_key');
  const remoteKey = pubKey(bytesParam(req, 'remote_key', { required: true }), 'remote_key');
  const fp = SC.Fingerprint.new(iterations, version, localId, localKey, remoteId, remoteKey);
  return {
    displayable: fp.displayableFingerprint().toString(),
    scannable: hex(fp.scannableFingerprint().toBuffer()),
  };
}

function cmdFingerprintCompare(req) {
  const mine = bytesParam(req, 'mine', { required: true });
  const theirs = bytesParam(req, 'theirs', { required: true });
  const match = SC.ScannableFingerprint._fromBuffer(mine).compare(SC.ScannableFingerprint._fromBuffer(theirs));
  return { match };
}

function cmdInfo() {
  return { implementation: IMPLEMENTATION, version: VERSION, commands: COMMANDS, features: FEATURES, requires: REQUIRES, record_format: RECORD_FORMAT };
}

const HANDLERS = {
  info: cmdInfo,
  init: cmdInit,
  prekeys: cmdPrekeys,
  process_bundle: cmdProcessBundle,
  encrypt: cmdEncrypt,
  decrypt: cmdDecrypt,
  session_export: cmdSessionExport,
  session_import: cmdSessionImport,
  session_info: cmdSessionInfo,
  session_delete: cmdSessionDelete,
  identity: cmdIdentity,
  fingerprint: cmdFingerprint,
  fingerprint_compare: cmdFingerprintCompare,
};
const { senderKeyStore } = installSenderKeys({ SC, HANDLERS, COMMANDS, FEATURES, requireParty, PeerError, bad, bytesParam, strParam, boolParam, intParam, hex, utf8OrNull });
await installSealed({ SC, pkgMain, HANDLERS, COMMANDS, FEATURES, requireParty, PeerError, bad, bytesParam, strParam, intParam, hex, utf8OrNull, privKey, pubKey, peerAddress, senderKeyStore });

// ---------------------------------------------------------------------------
// Main loop

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// handleLine answers one request line; returns true when the peer must quit.
async function handleLine(line) {
  if (line.endsWith('\r')) line = line.slice(0, -1);
  let req;
  try {
    if (line.length > MAX_LINE) throw new Error('line too long');
    req = JSON.parse(line);
  } catch (e) {
    send({ id: null, ok: false, error: `malformed JSON: ${e.message}`, name: 'bad_request' });
    return false;
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req)) {
    send({ id: null, ok: false, error: 'request is not a JSON object', name: 'bad_request' });
    return false;
  }
  const id = hasOwn(req, 'id') ? req.id : null;
  const cmd = req.cmd;
  if (typeof cmd !== 'string') {
    send({ id, ok: false, error: 'missing or non-string cmd', name: 'bad_request' });
    return false;
  }
  if (cmd === 'quit') {
    send({ id, ok: true });
    return true;
  }
  if (!hasOwn(HANDLERS, cmd)) {
    send({ id, ok: false, error: `unknown command ${JSON.stringify(cmd).slice(0, 64)}`, name: 'unknown_command' });
    return false;
  }
  try {
    const res = await HANDLERS[cmd](req);
    send({ id, ok: true, ...res });
  } catch (e) {
    const [name, msg] = mapError(e);
    send({ id, ok: false, error: msg, name });
  }
  return false;
}

process.on('uncaughtException', (e) => { process.stderr.write(`uncaught: ${e && e.stack}\n`); });
process.on('unhandledRejection', (e) => { process.stderr.write(`unhandled rejection: ${e && e.stack}\n`); });

send({ id: null, ok: true, event: 'ready', implementation: IMPLEMENTATION, version: VERSION });

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
let quitting = false;
for await (const line of rl) {
  if (await handleLine(line)) { quitting = true; break; }
}
rl.close();
if (quitting) process.exit(0);
