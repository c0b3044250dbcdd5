// Interop peer wrapping Signal's libsignal 0.103.0 (npm
// @signalapp/libsignal-client, pinned by this directory's package-lock.json).
// The code is ../node/peer.mjs, which resolves the package from the directory
// of the script node was started with, that is from here.
//
// Run: node interop/node103/peer.mjs   (after `npm ci` in interop/node103)
import '../node/peer.mjs';
