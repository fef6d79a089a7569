package io.kmsgw.hsm;

/**
 * The symmetric part of the HSM port: AES-256 keys, AES-GCM sealing (with the caller's IV or the HSM's) and the
 * HSM's random generator. One session at a time, like every part of {@link HsmSession}.
 */
public interface SymmetricCrypto {
  /** Generates a non-extractable AES-256 token key usable only to encrypt and decrypt. */
  HsmKey generateAes256Key(String label, byte[] id) throws HsmException;

  /** AES-GCM with a 128-bit tag; returns ciphertext followed by the tag. */
  byte[] encryptAesGcm(HsmKey key, byte[] iv, byte[] aad, byte[] plaintext) throws HsmException;

  /**
   * AES-GCM where the HSM chooses the IV (vendors that ignore the caller's IV: AWS CloudHSM, Luna in FIPS mode). The
   * gateway passes 12 zero bytes as the IV buffer and names the IV the HSM used through {@link GcmIvRecovery}, with
   * one {@code CKM_AES_ECB} block decryption under the same key, inside the HSM. The plaintext must be at least 16
   * bytes. Fails {@link HsmErrorKind#UNSUPPORTED} when the HSM used the zero buffer (it does not generate IVs) or when
   * the IV cannot be named.
   */
  GcmSealed encryptAesGcmHsmIv(HsmKey key, byte[] aad, byte[] plaintext) throws HsmException;

  /**
   * Whether this session's token generates GCM IVs itself ({@code hsm.capabilities.gcm_iv_from_hsm}): sealing then
   * goes through {@link #encryptAesGcmHsmIv}.
   */
  boolean gcmIvFromHsm();

  /**
   * Runs {@code work} with a temporary AES-256 session key (not a token object, sensitive, encrypt and decrypt only),
   * destroyed afterwards; for self-tests that must leave nothing in the token.
   */
  <T> T withTemporaryAesKey(TemporaryKeyWork<T> work) throws HsmException;

  /** Work on a temporary key. */
  @FunctionalInterface
  interface TemporaryKeyWork<T> {
    T run(HsmKey key) throws HsmException;
  }

  /** AES-GCM decryption; {@link HsmErrorKind#BAD_CIPHERTEXT} when the tag does not verify. */
  byte[] decryptAesGcm(HsmKey key, byte[] iv, byte[] aad, byte[] ciphertextAndTag) throws HsmException;

  /** Random bytes from the HSM's generator. */
  byte[] generateRandom(int length) throws HsmException;
}
