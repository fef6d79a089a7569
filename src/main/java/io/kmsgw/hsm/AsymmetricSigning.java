package io.kmsgw.hsm;

import io.kmsgw.domain.Algorithms.Signing;
import io.kmsgw.domain.KeySpec;

/**
 * The part of the HSM port that signs with a CMK key pair's private half: RSA (PKCS#1 v1.5 and PSS), ECDSA and
 * Ed25519. The hash of RSA and ECDSA is the caller's: the HSM gets the digest, never the message, so the same
 * mechanisms serve KMS's RAW and DIGEST messages on every token (SoftHSM2 2.6.1 has no {@code CKM_ECDSA_SHA256}).
 * Ed25519 ({@code ED25519_SHA_512}) hashes inside its algorithm and gets the message. Signatures are in KMS's
 * encodings: PKCS#1 (RFC 8017) for RSA, DER {@code SEQUENCE {r, s}} for ECDSA, the 64 bytes of RFC 8032 for Ed25519.
 * Verify needs no private key and runs in the gateway with the public key (docs/decisions.md).
 */
public interface AsymmetricSigning {
  /**
   * Signs with the private half of a key pair of {@code spec}.
   *
   * @param input the digest of the algorithm's hash ({@link Signing#digestLength()} bytes); the message for
   *     {@code ED25519_SHA_512}
   * @throws HsmException {@link HsmErrorKind#UNSUPPORTED} for an algorithm the adapter cannot run
   */
  byte[] signWithKeyPair(HsmKey key, KeySpec spec, Signing algorithm, byte[] input) throws HsmException;
}
