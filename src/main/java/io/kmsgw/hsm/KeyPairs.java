package io.kmsgw.hsm;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;

/**
 * The part of the HSM port that makes the keys of every spec but SYMMETRIC_DEFAULT: key pairs (RSA, EC, Ed25519)
 * and HMAC keys, each generated in the HSM as token objects under one label and id, and the public halves read back.
 * Which mechanism and template each spec takes is the adapter's one mapping.
 */
public interface KeyPairs {
  /**
   * Generates a key pair of an RSA, EC or Edwards spec. The private key is private, sensitive, never extractable and
   * can do only what the usage needs (sign, decrypt or derive); the public key (a public token object with the same
   * label and id) can only verify or encrypt.
   */
  HsmKey generateKeyPair(KeySpec spec, KeyUsage usage, String label, byte[] id) throws HsmException;

  /**
   * Generates an HMAC key of an HMAC spec: a generic secret of the spec's size, private, sensitive, never
   * extractable, able only to sign and verify.
   */
  HsmKey generateHmacKey(KeySpec spec, String label, byte[] id) throws HsmException;

  /**
   * The public half of a key pair as an X.509 SubjectPublicKeyInfo (DER), read from the public key object.
   * {@link HsmErrorKind#KEY_NOT_FOUND} when there is none; {@link HsmErrorKind#UNSUPPORTED} when it is not a key of
   * the spec.
   */
  byte[] publicKeyInfo(HsmKey key, KeySpec spec) throws HsmException;
}
