package io.kmsgw.hsm;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;

/**
 * The private-key part of importing: an RSA or EC private key (a PKCS#8 {@code PrivateKeyInfo}) unwrapped inside the
 * HSM with {@code C_UnwrapKey}, never in the gateway, its public key derived without reading it, and its public half
 * made as a token object (docs/import.md).
 */
public interface PrivateKeyImport {
  /**
   * Unwraps a private key under the wrapping key's private half: directly with {@code CKM_RSA_PKCS_OAEP}, or in the
   * RSA_AES_KEY_WRAP form (an OAEP-wrapped ephemeral AES key, then the key under RFC 5649), both steps in the HSM, and
   * derives its public key without reading the private key.
   *
   * <p>With a {@code target}, the key becomes a private, sensitive, non-extractable token object with that label and
   * id, able only to do what {@code usage} needs, and its public half a public token object beside it; without one,
   * nothing is kept (to compare a re-import). A key of another type, size or curve than {@code spec} is not kept.
   *
   * <p>The public key of an RSA key is its {@code CKA_MODULUS} and {@code CKA_PUBLIC_EXPONENT}. PKCS#11 gives no public
   * point for an EC private key, so a session copy that can only sign makes two ECDSA signatures and the public point
   * is recovered from them.
   *
   * @return the DER {@code SubjectPublicKeyInfo}; null when the key is not of the spec
   * @throws HsmException {@link HsmErrorKind#BAD_CIPHERTEXT} when the token refuses the wrapped bytes
   */
  byte[] unwrapPrivateKey(HsmKey wrappingKey, String oaepHash, boolean rsaAes, byte[] wrapped, KeySpec spec,
      KeyUsage usage, HsmKey target) throws HsmException;
}
