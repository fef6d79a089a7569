package io.kmsgw.audit;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 in lower-case hex, the form every hash in the audit files takes. */
final class Hashes {
  /** The {@code prev} of the very first record: there is nothing before it. */
  static final String GENESIS = "0".repeat(64);

  private Hashes() {}

  static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  static String sha256Hex(byte[] data) {
    return HexFormat.of().formatHex(sha256(data));
  }
}
