package io.kmsgw.format;

import java.util.HexFormat;

/**
 * The DER {@code DigestInfo} of RSASSA-PKCS1-v1_5 (RFC 8017 §9.2): {@code SEQUENCE { SEQUENCE { hash OID, NULL },
 * OCTET STRING digest }}, built from the fixed prefixes of the RFC's note 1. The HSM signs it with
 * {@code CKM_RSA_PKCS}; Verify compares it with what the public key recovers from a signature.
 */
public final class DigestInfos {
  private static final HexFormat HEX = HexFormat.of();
  private static final byte[] SHA256 = HEX.parseHex("3031300d060960864801650304020105000420");
  private static final byte[] SHA384 = HEX.parseHex("3041300d060960864801650304020205000430");
  private static final byte[] SHA512 = HEX.parseHex("3051300d060960864801650304020305000440");

  private DigestInfos() {}

  /**
   * @param hash {@code SHA-256}, {@code SHA-384} or {@code SHA-512}
   * @param digest a digest of that hash's length
   */
  public static byte[] of(String hash, byte[] digest) {
    byte[] prefix = switch (hash) {
      case "SHA-256" -> SHA256;
      case "SHA-384" -> SHA384;
      case "SHA-512" -> SHA512;
      default -> throw new IllegalArgumentException("no DigestInfo for " + hash);
    };
    if (digest.length != prefix[prefix.length - 1]) {
      throw new IllegalArgumentException(hash + " digests are " + prefix[prefix.length - 1] + " bytes");
    }
    byte[] out = new byte[prefix.length + digest.length];
    System.arraycopy(prefix, 0, out, 0, prefix.length);
    System.arraycopy(digest, 0, out, prefix.length, digest.length);
    return out;
  }
}
