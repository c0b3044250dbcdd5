// Sealed sender commands of interop/PEER.md ("Sealed sender", feature
// sealed_sender) for the libsignal Node peer (peer.mjs), for both libsignal
// 0.72.1 and 0.103.0: server_certificate, sender_certificate,
// sender_certificate_validate, sealed_encrypt, sealed_encrypt_multi,
// sealed_multi_split, sealed_decrypt, sealed_unseal.
//
// sealed_decrypt follows libsignal's sealed_sender_decrypt step by step
// (sealedSenderDecryptToUsmc, SenderCertificate.validate, the self-send
// check, then the inner message) so that it can also open group messages,
// which libsignal's all-in-one sealedSenderDecryptMessage refuses, and name
// each step's error as PEER.md does.
//
// peer.mjs calls installSealed once with its tables and helpers.

import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export async function installSealed(ctx) {
  const {
    SC, pkgMain, HANDLERS, COMMANDS, FEATURES, requireParty, PeerError, bad,
    bytesParam, strParam, intParam, hex, utf8OrNull, privKey, pubKey, peerAddress, senderKeyStore,
  } = ctx;

  // SealedSenderMultiRecipientMessage (the server's split) is not exported
  // by the package index; it is its own module in dist/ (ESM in 0.103,
  // CommonJS in 0.72).
  const SSMRM = await (async () => {
    const ns = await import(pathToFileURL(join(dirname(pkgMain), 'SealedSenderMultiRecipientMessage.js')).href);
    const d = ns.default;
    return typeof d === 'function' ? d : d.default;
  })();
  // 0.103 takes the local ProtocolAddress in signalEncrypt/signalDecrypt*.
  const LOCAL_ADDRESS = SC.signalDecrypt.length >= 5;
  const local = (p) => (LOCAL_ADDRESS ? [p.addr] : []);
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  const certError = (msg) => new PeerError('invalid_certificate', msg);
  const msgError = (msg) => new PeerError('invalid_message', msg);

  // timeParam reads a time in milliseconds (a JSON number).
  function timeParam(req, name, def) {
    if (!Object.prototype.hasOwnProperty.call(req, name) || req[name] === null) {
      if (def === undefined) throw bad(`missing ${name}`);
      return def;
    }
    const v = req[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${name}: expected a non-negative integer`);
    return v;
  }

  function senderCert(req) {
    const b = bytesParam(req, 'sender_certificate', { required: true });
    try { return SC.SenderCertificate.deserialize(b); } catch (e) { throw certError(`sender_certificate: ${e.message}`); }
  }

  function certFields(c) {
    let keyId = null; let serverKey = null;
    try {
      const s = c.serverCertificate();
      keyId = s.keyId(); serverKey = hex(s.key().serialize());
    } catch { /* an unknown referenced server certificate */ }
    return {
      sender_uuid: c.senderUuid(), sender_e164: c.senderE164(), sender_device: c.senderDeviceId(),
      sender_key: hex(c.key().serialize()), expiration: c.expiration(),
      server_key_id: keyId, server_key: serverKey,
    };
  }

  function cmdServerCertificate(req) {
    const rb = bytesParam(req, 'trust_root_priv');
    const root = rb === undefined ? SC.PrivateKey.generate() : privKey(rb, 'trust_root_priv');
    const sb = bytesParam(req, 'server_priv');
    const server = sb === undefined ? SC.PrivateKey.generate() : privKey(sb, 'server_priv');
    const keyId = intParam(req, 'key_id', 1);
    const c = SC.ServerCertificate.new(keyId, server.getPublicKey(), root);
    return {
      server_certificate: hex(c.serialize()), key_id: keyId,
      trust_root: hex(root.getPublicKey().serialize()), trust_root_priv: hex(root.serialize()),
      server_key: hex(server.getPublicKey().serialize()), server_priv: hex(server.serialize()),
    };
  }

  function cmdSenderCertificate(req) {
    let server;
    try { server = SC.ServerCertificate.deserialize(bytesParam(req, 'server_certificate', { required: true })); } catch (e) {
      if (e instanceof PeerError) throw e;
      throw bad(`server_certificate: ${e.message}`);
    }
    const serverPriv = privKey(bytesParam(req, 'server_priv', { required: true }), 'server_priv');
    const expiration = timeParam(req, 'expiration');
    const p = (() => { try { return requireParty(); } catch { return null; } })();
    const uuid = strParam(req, 'sender_uuid', p ? p.name : undefined);
    if (uuid === undefined) throw bad('missing sender_uuid (or init)');
    const device = intParam(req, 'sender_device', p ? p.deviceId : 1, { min: 1, max: 127 });
    const kb = bytesParam(req, 'sender_key');
    if (kb === undefined && !p) throw bad('missing sender_key (or init)');
    const key = kb === undefined ? p.pub : pubKey(kb, 'sender_key');
    const e164 = strParam(req, 'sender_e164', null);
    const c = SC.SenderCertificate.new(uuid, e164, device, key, expiration, server, serverPriv);
    return { sender_certificate: hex(c.serialize()), ...certFields(c) };
  }

  function cmdValidate(req) {
    const c = senderCert(req);
    const root = pubKey(bytesParam(req, 'trust_root', { required: true }), 'trust_root');
    const ts = timeParam(req, 'timestamp');
    let valid = false;
    try { valid = c.validate(root, ts); } catch { valid = false; }
    return { valid, ...certFields(c) };
  }

  function innerParams(req) {
    const hint = intParam(req, 'content_hint', 0);
    const gid = bytesParam(req, 'group_id');
    return { hint, gid: gid === undefined || gid.length === 0 ? null : gid };
  }

  function distributionId(req) {
    const id = strParam(req, 'distribution_id', undefined);
    if (id === undefined) return undefined;
    if (!UUID.test(id)) throw bad('distribution_id: not a UUID');
    return id.toLowerCase();
  }

  // inner encrypts the inner message: a group_encrypt under distribution_id,
  // or a 1:1 encrypt to `to`.
  async function inner(req, p, to, pt) {
    const dist = distributionId(req);
    if (dist !== undefined) {
      if (!senderKeyStore) throw new PeerError('unsupported', 'no sender key store');
      return SC.groupEncrypt(p.addr, dist, senderKeyStore(), pt);
    }
    if (!to) throw bad('distribution_id is needed for more than one recipient device');
    if (!p.sessions.m.has(to.key)) throw new PeerError('no_session', `no session for ${to.name}.${to.device}`);
    return SC.signalEncrypt(pt, to.addr, ...local(p), p.sessions, p.identities);
  }

  async function cmdSealedEncrypt(req) {
    const p = requireParty();
    const to = peerAddress(req);
    const cert = senderCert(req);
    const pt = bytesParam(req, 'plaintext', { allowText: true, required: true });
    const { hint, gid } = innerParams(req);
    const ct = await inner(req, p, to, pt);
    const usmc = SC.UnidentifiedSenderMessageContent.new(ct, cert, hint, gid);
    const sealed = await SC.sealedSenderEncrypt(usmc, to.addr, p.identities);
    return { sealed: hex(sealed), version: 1, inner_type: ct.type(), inner: hex(ct.serialize()) };
  }

  function split(buf) {
    let m;
    try { m = new SSMRM(Buffer.from(buf)); } catch (e) { throw msgError(`sent: ${e.message}`); }
    const received = [];
    for (const [name, r] of Object.entries(m.recipientsByServiceIdString())) {
      received.push({
        name, device_ids: [...r.deviceIds], registration_ids: [...r.registrationIds],
        message: hex(m.messageForRecipient(r)),
      });
    }
    return { received, excluded: [...m.excludedRecipientServiceIdStrings()] };
  }

  async function cmdSealedEncryptMulti(req) {
    const p = requireParty();
    if (!Array.isArray(req.recipients) || req.recipients.length === 0) throw bad('recipients: expected a non-empty list');
    const to = req.recipients.map((r) => peerAddress({ peer: r }));
    const excluded = req.excluded === undefined || req.excluded === null ? [] : req.excluded;
    if (!Array.isArray(excluded) || excluded.some((s) => typeof s !== 'string')) throw bad('excluded: expected a list of service ids');
    const excludedIds = excluded.map((s) => {
      const id = SC.ServiceId.parseFromServiceIdString(s);
      if (!id) throw bad(`excluded: not a service id: ${s}`);
      return id;
    });
    const cert = senderCert(req);
    const pt = bytesParam(req, 'plaintext', { allowText: true, required: true });
    const { hint, gid } = innerParams(req);
    const ct = await inner(req, p, to.length === 1 ? to[0] : null, pt);
    const usmc = SC.UnidentifiedSenderMessageContent.new(ct, cert, hint, gid);
    for (const a of to) {
      if (!p.sessions.m.has(a.key)) throw new PeerError('no_session', `no session for ${a.name}.${a.device}`);
    }
    const sent = await SC.sealedSenderMultiRecipientEncrypt({
      content: usmc, recipients: to.map((a) => a.addr), excludedRecipients: excludedIds,
      identityStore: p.identities, sessionStore: p.sessions,
    });
    return { sent: hex(sent), ...split(sent), inner_type: ct.type(), inner: hex(ct.serialize()) };
  }

  function cmdSplit(req) {
    return split(bytesParam(req, 'sent', { required: true }));
  }

  // unseal opens the envelope (step 1), naming its errors as PEER.md does.
  async function unseal(p, buf) {
    try {
      return await SC.sealedSenderDecryptToUsmc(buf, p.identities);
    } catch (e) {
      const m = String((e && e.message) || e);
      if (m.toLowerCase().includes('sender certificate key does not match')) throw certError(m);
      throw msgError(m);
    }
  }

  function usmcFields(usmc) {
    const gid = usmc.groupId();
    return {
      message_type: usmc.msgType(), content_hint: usmc.contentHint(),
      group_id: gid && gid.length > 0 ? hex(gid) : null, inner: hex(usmc.contents()),
    };
  }

  async function cmdSealedDecrypt(req) {
    const p = requireParty();
    const buf = bytesParam(req, 'sealed', { required: true });
    const root = pubKey(bytesParam(req, 'trust_root', { required: true }), 'trust_root');
    const ts = timeParam(req, 'timestamp', Date.now());
    const localUuid = strParam(req, 'local_uuid', p.name);
    const localDevice = intParam(req, 'local_device', p.deviceId);
    if (buf.length === 0) throw msgError('empty message');
    // 1. Open the envelope.
    const usmc = await unseal(p, buf);
    const cert = usmc.senderCertificate();
    // 2. The certificate.
    let valid = false;
    try { valid = cert.validate(root, ts); } catch { valid = false; }
    if (!valid) throw certError('trust root validation failed');
    // 3. Self-send.
    if (cert.senderUuid() === localUuid && cert.senderDeviceId() === localDevice) {
      throw new PeerError('self_send', 'sealed sender message from this device');
    }
    // 4. The inner message, from the certificate's address.
    const from = SC.ProtocolAddress.new(cert.senderUuid(), cert.senderDeviceId());
    const contents = usmc.contents();
    const type = usmc.msgType();
    let pt; let dist;
    switch (type) {
      case 3:
        pt = await SC.signalDecryptPreKey(SC.PreKeySignalMessage.deserialize(contents), from, ...local(p),
          p.sessions, p.identities, p.prekeys, p.signed, p.kyber);
        break;
      case 2:
        pt = await SC.signalDecrypt(SC.SignalMessage.deserialize(contents), from, ...local(p), p.sessions, p.identities);
        break;
      case 7:
        if (!senderKeyStore) throw new PeerError('unsupported', 'no sender key store');
        try { dist = String(SC.SenderKeyMessage.deserialize(contents).distributionId()).toLowerCase(); } catch { /* groupDecrypt reports it */ }
        pt = await SC.groupDecrypt(from, senderKeyStore(), contents);
        break;
      case 8:
        pt = SC.PlaintextContent.deserialize(contents).body();
        break;
      default:
        throw msgError(`unexpected inner message type ${type}`);
    }
    const res = {
      plaintext: hex(pt), text: utf8OrNull(pt), ...certFields(cert), ...usmcFields(usmc), version: buf[0] >> 4 || 1,
    };
    if (dist !== undefined) res.distribution_id = dist;
    return res;
  }

  async function cmdUnseal(req) {
    const p = requireParty();
    const buf = bytesParam(req, 'sealed', { required: true });
    if (buf.length === 0) throw msgError('empty message');
    const usmc = await unseal(p, buf);
    const cert = usmc.senderCertificate();
    return {
      usmc: hex(usmc.serialize()), sender_certificate: hex(cert.serialize()), ...certFields(cert),
      ...usmcFields(usmc), version: buf[0] >> 4 || 1,
    };
  }

  Object.assign(HANDLERS, {
    server_certificate: cmdServerCertificate, sender_certificate: cmdSenderCertificate,
    sender_certificate_validate: cmdValidate, sealed_encrypt: cmdSealedEncrypt,
    sealed_encrypt_multi: cmdSealedEncryptMulti, sealed_multi_split: cmdSplit,
    sealed_decrypt: cmdSealedDecrypt, sealed_unseal: cmdUnseal,
  });
  COMMANDS.push('server_certificate', 'sender_certificate', 'sender_certificate_validate', 'sealed_encrypt',
    'sealed_encrypt_multi', 'sealed_multi_split', 'sealed_decrypt', 'sealed_unseal');
  FEATURES.push('sealed_sender');
}
