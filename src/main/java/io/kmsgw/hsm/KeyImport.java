package io.kmsgw.hsm;

import io.kmsgw.domain.KeySpec;

/**
 * The import part of the HSM port: RSA wrapping key pairs, and key material unwrapped inside the HSM
 * ({@code C_UnwrapKey}), never in the gateway.
 */
public interface KeyImport {
  /**
   * Generates an RSA wrapping key pair as token objects: the private key is private, sensitive, never extractable and
   * can only unwrap (no decrypt, no sign); the public key can only wrap. Read the public key with
   * {@link KeyPairs#publicKeyInfo}.
   */
  HsmKey generateWrappingKeyPair(int bits, String label, byte[] id) throws HsmException;

  /**
   * Unwraps a secret key with {@code CKM_RSA_PKCS_OAEP} (MGF1 of the same hash, empty label) under the wrapping key's
   * private half, inside the HSM, and computes its check value there: an AES key for SYMMETRIC_DEFAULT
   * ({@code CKM_AES_ECB} of a zero block), a generic secret for the HMAC specs (the spec's HMAC of 16 zero bytes).
   *
   * <p>With a {@code target}, the key becomes a private, sensitive, non-extractable token object with that label and
   * id, able only to do what the spec's usage needs (a CMK version); it is destroyed again when its reported length is
   * outside the bounds. Without one, it is a session object destroyed before this returns (to compare a re-import).
   *
   * @param oaepHash {@code SHA-1} or {@code SHA-256}
   * @param rsaAes the RSA_AES_KEY_WRAP form: an RSA-OAEP-wrapped ephemeral AES key followed by the material under AES
   *     key wrap with padding (RFC 5649), both unwrapped in the HSM
   * @param minLength the shortest material in bytes the spec takes (AWS's), {@code maxLength} the longest
   * @throws HsmException {@link HsmErrorKind#BAD_CIPHERTEXT} when the token refuses the wrapped bytes (tampered, or
   *     wrapped under another key)
   */
  Unwrapped unwrapSecretKey(HsmKey wrappingKey, String oaepHash, boolean rsaAes, byte[] wrapped, KeySpec spec,
      int minLength, int maxLength, HsmKey target) throws HsmException;

  /**
   * What an unwrap gave.
   *
   * @param length the key's length in bytes ({@code CKA_VALUE_LEN}); 0 when the token does not report it (SoftHSM2
   *     leaves it at 0 on unwrapped keys), in which case only lengths AES has no key size for are detected, and no
   *     HMAC length at all
   * @param checkValue computed in the HSM; null when the length is wrong
   */
  record Unwrapped(int length, byte[] checkValue) {}
}
