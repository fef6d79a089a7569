package io.kmsgw.format;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The byte formats of the XKS proxy API (AWS XKS proxy API specification v1.0.3): the AAD given to the HSM's
 * AES-GCM, the gateway's {@code ciphertextMetadata}, and the ciphertext data integrity value (CDIV).
 *
 * <h2>AAD given to the HSM</h2>
 *
 * <p>Without {@code ciphertextMetadata} (keys named by an HSM label, which have no versions), the request's
 * {@code additionalAuthenticatedData} is the GCM AAD as it is (empty when absent), so such a key is served exactly
 * as another proxy serving the same HSM object would serve it. With {@code ciphertextMetadata} (gateway-managed
 * keys), the AAD is framed as the specification's Encrypt section recommends:
 *
 * <pre>
 *   uint16 big-endian  length of additionalAuthenticatedData (0 when absent)
 *   bytes              additionalAuthenticatedData
 *   uint8              length of ciphertextMetadata
 *   bytes              ciphertextMetadata
 * </pre>
 *
 * so that neither field can be moved into the other (XKS spec: "explicitly include the length of
 * additionalAuthenticatedData and the length of the ciphertextMetadata").
 *
 * <h2>ciphertextMetadata (5 bytes)</h2>
 *
 * <pre>
 *   byte 0      0x01: kmsgw metadata format 1, AAD framed as above
 *   bytes 1..4  the key version (uint32 big-endian) whose HSM object encrypted, so decryption works after rotation
 * </pre>
 *
 * <h2>CDIV</h2>
 *
 * <p>SHA-256 over {@code additionalAuthenticatedData || ciphertextMetadata || initializationVector || ciphertext ||
 * authenticationTag}, absent fields as empty, no lengths (XKS spec, Appendix C).
 */
public final class XksCiphertext {
  /** The AAD the specification requires a proxy to accept; the uint16 length field allows up to 65535. */
  public static final int MAX_AAD = 0xFFFF;
  /** The specification's limit on ciphertextMetadata. */
  public static final int MAX_METADATA = 20;
  public static final int TAG_LENGTH = 16;
  public static final int IV_LENGTH = 12;
  private static final byte METADATA_FORMAT_1 = 0x01;
  private static final int METADATA_LENGTH = 5;

  private XksCiphertext() {}

  /**
   * The GCM AAD for the HSM.
   *
   * @param aad the request's additionalAuthenticatedData, or null
   * @param metadata the ciphertextMetadata, or null for none
   */
  public static byte[] hsmAad(byte[] aad, byte[] metadata) {
    byte[] a = aad == null ? new byte[0] : aad;
    if (metadata == null) {
      return a;
    }
    if (a.length > MAX_AAD || metadata.length > MAX_METADATA) {
      throw new IllegalArgumentException("AAD or ciphertextMetadata too long");
    }
    return ByteBuffer.allocate(2 + a.length + 1 + metadata.length)
        .putShort((short) a.length)
        .put(a)
        .put((byte) metadata.length)
        .put(metadata)
        .array();
  }

  /** The gateway's ciphertextMetadata for a key version. */
  public static byte[] metadata(int keyVersion) {
    return ByteBuffer.allocate(METADATA_LENGTH).put(METADATA_FORMAT_1).putInt(keyVersion).array();
  }

  /**
   * The key version a ciphertextMetadata names.
   *
   * @throws IllegalArgumentException when it is not one the gateway wrote
   */
  public static int keyVersion(byte[] metadata) {
    if (metadata == null || metadata.length != METADATA_LENGTH || metadata[0] != METADATA_FORMAT_1) {
      throw new IllegalArgumentException("not a kmsgw ciphertextMetadata");
    }
    int version = ByteBuffer.wrap(metadata, 1, 4).getInt();
    if (version < 1) {
      throw new IllegalArgumentException("not a kmsgw ciphertextMetadata");
    }
    return version;
  }

  /** The CDIV: SHA-256 of aad || metadata || iv || ciphertext || tag; null fields count as empty. */
  public static byte[] integrityValue(byte[] aad, byte[] metadata, byte[] iv, byte[] ciphertext, byte[] tag) {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    for (byte[] part : new byte[][] {aad, metadata, iv, ciphertext, tag}) {
      if (part != null) {
        md.update(part);
      }
    }
    return md.digest();
  }
}
