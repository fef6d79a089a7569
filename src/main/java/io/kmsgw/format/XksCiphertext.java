package io.kmsgw.format;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The byte formats of the XKS proxy API (AWS XKS proxy API specification v1.0.3): the AAD given to the HSM's
 * AES-GCM, the gateway's {@code ciphertextMetadata}, and the ciphertext data integrity value (CDIV).
 *
 * <h2>AAD given to the HSM</h2>
 *
 * <p>Without {@code ciphertextMetadata} (keys named by an HSM label, which have no versions and are never the
 * material of a gateway key), the request's {@code additionalAuthenticatedData} is the GCM AAD as it is (empty
 * when absent), so such a key is served exactly as another proxy serving the same HSM object would serve it. With
 * {@code ciphertextMetadata} (gateway-managed keys, whose HSM objects the KMS API uses too), the AAD is framed as the
 * specification's Encrypt section recommends, behind a domain prefix that no KMS AAD can start with:
 *
 * <pre>
 *   10 bytes           "kmsgw/xks" 0x00, the XKS domain (metadata format 2 only; see below)
 *   uint16 big-endian  length of additionalAuthenticatedData (0 when absent)
 *   bytes              additionalAuthenticatedData
 *   uint8              length of ciphertextMetadata
 *   bytes              ciphertextMetadata
 * </pre>
 *
 * so that neither field can be moved into the other (XKS spec: "explicitly include the length of
 * additionalAuthenticatedData and the length of the ciphertextMetadata"), and so that no KMS ciphertext opens
 * through XKS nor any XKS ciphertext through KMS: a KMS AAD starts with the blob's format version byte
 * ({@link CiphertextBlob#VERSION_1}, 0x01), the XKS domain with {@code 'k'} (0x6b), a byte no KMS blob version
 * may ever take (issue #15, item 3).
 *
 * <h2>ciphertextMetadata (5 bytes)</h2>
 *
 * <pre>
 *   byte 0      0x02: kmsgw metadata format 2, AAD framed behind the XKS domain as above (every Encrypt since)
 *               0x01: format 1, the same framing without the domain; accepted by Decrypt only, since AWS KMS
 *                     keeps the XKS ciphertexts it was given, and refused when the framed AAD begins with the KMS
 *                     blob header of the same key, version and IV (the shape of a KMS ciphertext)
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
  /** Legacy: written before issue #15, item 3; Decrypt only. */
  static final byte METADATA_FORMAT_1 = 0x01;
  static final byte METADATA_FORMAT_2 = 0x02;
  private static final int METADATA_LENGTH = 5;
  /** The XKS domain the framed AAD of format 2 starts with; its first byte is no KMS blob version. */
  private static final byte[] DOMAIN = "kmsgw/xks\0".getBytes(StandardCharsets.US_ASCII);

  private XksCiphertext() {}

  /**
   * The GCM AAD for the HSM.
   *
   * @param aad the request's additionalAuthenticatedData, or null
   * @param metadata the ciphertextMetadata, or null for none
   * @throws IllegalArgumentException for metadata that is not a kmsgw format, or fields too long
   */
  public static byte[] hsmAad(byte[] aad, byte[] metadata) {
    byte[] a = aad == null ? new byte[0] : aad;
    if (metadata == null) {
      return a;
    }
    if (a.length > MAX_AAD || metadata.length > MAX_METADATA) {
      throw new IllegalArgumentException("AAD or ciphertextMetadata too long");
    }
    byte[] domain;
    if (legacy(metadata)) {
      domain = new byte[0];
    } else if (metadata.length > 0 && metadata[0] == METADATA_FORMAT_2) {
      domain = DOMAIN;
    } else {
      throw new IllegalArgumentException("not a kmsgw ciphertextMetadata");
    }
    return ByteBuffer.allocate(domain.length + 2 + a.length + 1 + metadata.length)
        .put(domain)
        .putShort((short) a.length)
        .put(a)
        .put((byte) metadata.length)
        .put(metadata)
        .array();
  }

  /** The gateway's ciphertextMetadata for a key version (format 2). */
  public static byte[] metadata(int keyVersion) {
    return ByteBuffer.allocate(METADATA_LENGTH).put(METADATA_FORMAT_2).putInt(keyVersion).array();
  }

  /** Whether a ciphertextMetadata is of format 1, written before the XKS domain existed. */
  public static boolean legacy(byte[] metadata) {
    return metadata != null && metadata.length > 0 && metadata[0] == METADATA_FORMAT_1;
  }

  /**
   * The key version a ciphertextMetadata names.
   *
   * @throws IllegalArgumentException when it is not one the gateway wrote
   */
  public static int keyVersion(byte[] metadata) {
    if (metadata == null || metadata.length != METADATA_LENGTH
        || (metadata[0] != METADATA_FORMAT_1 && metadata[0] != METADATA_FORMAT_2)) {
      throw new IllegalArgumentException("not a kmsgw ciphertextMetadata");
    }
    int version = ByteBuffer.wrap(metadata, 1, 4).getInt();
    if (version < 1) {
      throw new IllegalArgumentException("not a kmsgw ciphertextMetadata");
    }
    return version;
  }

  /**
   * Whether a format-1 framed AAD has the shape of a KMS ciphertext of the same key version: it begins with the KMS
   * blob header that names this key, version and IV (version 1), or with the 21-byte AAD header of a version-2 or -3
   * blob of this key and version. Such an AAD is what the attack of issue #15 (item 3) sends;
   * a genuine XKS AAD holds the gateway's random IV at that place with probability 2^-96, since the IV is drawn
   * after the AAD is fixed.
   */
  public static boolean looksLikeKmsAad(byte[] hsmAad, java.util.UUID keyId, int keyVersion, byte[] iv) {
    // KMS blobs of versions 2 and 3 (HSM-chosen IV) authenticate only version, key id and key version: the same
    // attack would send an AAD that begins with those 21 bytes
    for (byte version : new byte[] {CiphertextBlob.VERSION_HSM_IV, CiphertextBlob.VERSION_HSM_IV_PADDED}) {
      byte[] h = CiphertextBlob.hsmIvAadHeader(version, keyId, keyVersion);
      if (hsmAad.length >= h.length && java.util.Arrays.equals(hsmAad, 0, h.length, h, 0, h.length)) {
        return true;
      }
    }
    if (iv.length != CiphertextBlob.IV_LENGTH || hsmAad.length < CiphertextBlob.HEADER_LENGTH) {
      return false;
    }
    byte[] header = CiphertextBlob.header(keyId, keyVersion, iv);
    return java.util.Arrays.equals(hsmAad, 0, header.length, header, 0, header.length);
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
