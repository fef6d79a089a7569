package io.kmsgw.hsm;

/**
 * The signing part of the HSM port: EC key pairs generated in the HSM and ECDSA over a digest. Today the audit
 * trail's digest signatures use it; asymmetric CMKs (issue #17) extend it.
 */
public interface SigningKeys {
  /**
   * Generates an ECDSA P-256 key pair as token objects under one label and id: the private key is private,
   * sensitive, never extractable and can only sign; the public key can only verify. Used for the audit trail's
   * digest signatures, not for CMKs.
   */
  HsmKey generateEcP256SigningKey(String label, byte[] id) throws HsmException;

  /**
   * The public half of an EC P-256 signing key pair as an X.509 SubjectPublicKeyInfo (DER), read from the HSM's
   * {@code CKA_EC_PARAMS} and {@code CKA_EC_POINT}; empty when the token has no such key pair.
   */
  java.util.Optional<byte[]> ecP256PublicKey(HsmKey key) throws HsmException;

  /**
   * ECDSA ({@code CKM_ECDSA}) over a digest the caller computed (SoftHSM2 has no {@code CKM_ECDSA_SHA256});
   * returns the raw signature {@code r || s}, 32 bytes each for P-256.
   */
  byte[] signEcdsa(HsmKey key, byte[] digest) throws HsmException;
}
