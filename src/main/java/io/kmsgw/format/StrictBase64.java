package io.kmsgw.format;

import java.util.Base64;

/**
 * Standard Base64 (RFC 4648 section 4, not the URL-safe alphabet) in its one canonical form: padded to a multiple
 * of 4 characters, no whitespace or line breaks, and zero bits after the last byte. The JDK's decoder alone also
 * takes {@code aGk} (no padding) and {@code aGl=} (non-zero trailing bits, the same bytes as {@code aGk=}); one value
 * must have one encoding, so what a client sent is what the audit trail and the signature cover.
 */
public final class StrictBase64 {
  private StrictBase64() {}

  /** The bytes, or null when the text is not canonical padded standard Base64. */
  public static byte[] decodeOrNull(String s) {
    if (s.length() % 4 != 0) {
      return null;
    }
    byte[] decoded;
    try {
      decoded = Base64.getDecoder().decode(s);
    } catch (IllegalArgumentException e) {
      return null;
    }
    // re-encoding is the exact test for padding and trailing bits; the cost is one more pass over the value
    return Base64.getEncoder().encodeToString(decoded).equals(s) ? decoded : null;
  }
}
