package io.kmsgw.kms;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.HsmSession;
import io.kmsgw.hsm.KeyImport;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Imported RSA and EC private keys (docs/import.md): the key is unwrapped in the HSM, its public key derived there
 * without reading the private key, and the public half made as a token object beside it
 * ({@link io.kmsgw.hsm.PrivateKeyImport}). The check value that only the same material reproduces is the SHA-256 of
 * the public key's DER.
 */
final class PrivateKeyMaterial {
  private PrivateKeyMaterial() {}

  /** The specs whose private keys can be imported: RSA and the Weierstrass curves (not Ed25519). */
  static boolean importable(KeySpec spec) {
    return spec.family() == KeySpec.Family.RSA || spec.family() == KeySpec.Family.EC;
  }

  /** Why an Ed25519 key cannot take imported material, in kmsgw's words. */
  static KmsException edwardsRefused(KeySpec spec) {
    return new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "Importing " + spec + " key material is not supported "
        + "by kmsgw: its public key cannot be derived inside the HSM without reading the private key (PKCS#11 gives "
        + "no public point for a private key object, and Ed25519 signatures do not reveal it).");
  }

  /**
   * On an HSM worker: unwraps the private key in the HSM (into {@code target} with its public half, or nothing kept
   * when null).
   *
   * @return the SHA-256 of the public key's DER as the check value; a null check value when the key is not of the
   *     key's spec (nothing kept)
   */
  static KeyImport.Unwrapped unwrap(HsmSession s, HsmKey wrappingKey, String oaepHash, boolean rsaAes, byte[] wrapped,
      KeyRecord key, HsmKey target) throws HsmException {
    byte[] spki = s.unwrapPrivateKey(wrappingKey, oaepHash, rsaAes, wrapped, key.keySpec(), key.keyUsage(), target);
    return new KeyImport.Unwrapped(0, spki == null ? null : sha256(spki));
  }

  /** The answer to material that is not a private key of the key's spec. */
  static KmsException notOfSpec(KeyRecord key) {
    String what = key.keySpec().family() == KeySpec.Family.RSA ? "an RSA private key of " + key.keySpec().bits()
        + " bits" : "an EC private key on the curve of " + key.keySpec();
    return new KmsException(ErrorCode.INCORRECT_KEY_MATERIAL, "The key material of " + key.arn() + " must be " + what
        + ", as a DER-encoded PKCS#8 PrivateKeyInfo (named curve).");
  }

  private static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
