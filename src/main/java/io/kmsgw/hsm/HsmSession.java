package io.kmsgw.hsm;

import java.util.List;

/**
 * What the gateway asks of the HSM, one session at a time. A session is used by one thread while borrowed.
 * Every key object created through it has {@code CKA_TOKEN}, {@code CKA_PRIVATE} and {@code CKA_SENSITIVE}
 * true, {@code CKA_EXTRACTABLE} false, and only the usage attributes its purpose needs.
 */
public interface HsmSession {
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

  /** Secret-key objects whose label starts with {@code labelPrefix}. */
  List<HsmKey> findSecretKeys(String labelPrefix) throws HsmException;

  /** Whether the key object exists. */
  boolean exists(HsmKey key) throws HsmException;

  /** Destroys the key object ({@code C_DestroyObject}); a missing object is not an error. */
  void destroy(HsmKey key) throws HsmException;

  /** Reads the custody attributes of a key object. */
  KeyCustody custody(HsmKey key) throws HsmException;

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

  /** The custody attributes of the private key of a signing key pair. */
  KeyCustody signingKeyCustody(HsmKey key) throws HsmException;

  /**
   * The secret-key token objects whose label is exactly {@code label}, with their type, length and usage
   * attributes (the XKS API reports and enforces a key's usage from these).
   */
  List<SecretKeyInfo> describeSecretKeys(String label) throws HsmException;
}
