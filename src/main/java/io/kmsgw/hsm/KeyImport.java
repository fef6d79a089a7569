package io.kmsgw.hsm;

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
   * Unwraps an AES key with {@code CKM_RSA_PKCS_OAEP} (MGF1 of the same hash, empty label) under the wrapping key's
   * private half, inside the HSM, and computes its check value there.
   *
   * <p>With a {@code target}, the key becomes a private, sensitive, non-extractable token object with that label and
   * id, able only to encrypt and decrypt (a CMK version); it is destroyed again when it is not 32 bytes long. Without
   * one, it is a session object destroyed before this returns (to compare a re-import's material).
   *
   * @param oaepHash {@code SHA-1} or {@code SHA-256}
   * @throws HsmException {@link HsmErrorKind#BAD_CIPHERTEXT} when the token refuses the wrapped bytes (tampered,
   *     wrapped under another key, or not a key the token can make)
   */
  Unwrapped unwrapAesKey(HsmKey wrappingKey, String oaepHash, byte[] wrapped, HsmKey target) throws HsmException;

  /**
   * What an unwrap gave.
   *
   * @param length the key's length in bytes ({@code CKA_VALUE_LEN}); 0 when the token does not report it (SoftHSM2
   *     leaves it at 0 on unwrapped keys), in which case only lengths AES has no key size for are detected
   * @param checkValue AES-ECB of 16 zero bytes under the key, computed in the HSM; null when the length is wrong
   */
  record Unwrapped(int length, byte[] checkValue) {}
}
