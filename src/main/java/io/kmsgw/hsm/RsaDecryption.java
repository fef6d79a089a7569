package io.kmsgw.hsm;

/**
 * The RSA decryption part of the HSM port: the private half of an ENCRYPT_DECRYPT RSA key pair decrypts, in the HSM.
 * Encryption needs no secret and runs in the gateway with the public key.
 */
public interface RsaDecryption {
  /**
   * RSAES-OAEP decryption in the HSM ({@code CKM_RSA_PKCS_OAEP}) with {@code hash} for the digest and for MGF1, and
   * an empty label, as AWS KMS's RSAES_OAEP_SHA_* do. A ciphertext the token rejects is, by the one CKR mapping,
   * {@link HsmErrorKind#BAD_CIPHERTEXT} (SoftHSM2's {@code CKR_GENERAL_ERROR} with its vendor profile, NSS's
   * {@code CKR_ENCRYPTED_DATA_INVALID}) or, for input a token finds malformed, {@link HsmErrorKind#OTHER}.
   *
   * @param hash {@code SHA-1} or {@code SHA-256}: one of {@link TokenMechanisms#oaepHashes()}
   */
  byte[] decryptOaep(HsmKey key, String hash, byte[] ciphertext) throws HsmException;

  /**
   * The raw RSA private operation ({@code CKM_RSA_X_509}, RFC 8017 §5.1.2 RSADP): the encoded message, as many
   * bytes as the modulus, left-padded with zeros. Only for tokens whose OAEP lacks a hash: the caller decodes it
   * (in constant time) and wipes it.
   */
  byte[] decryptRaw(HsmKey key, byte[] ciphertext) throws HsmException;
}
