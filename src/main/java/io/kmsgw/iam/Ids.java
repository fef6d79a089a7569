package io.kmsgw.iam;

import java.security.SecureRandom;
import java.util.Base64;

/** Identifiers and secrets in AWS's forms. */
final class Ids {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  private Ids() {}

  private static String base32(int length) {
    StringBuilder sb = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      sb.append(BASE32.charAt(RANDOM.nextInt(32)));
    }
    return sb.toString();
  }

  /** A long-term access key id: {@code AKIA} and 16 of [A-Z2-7]. */
  static String accessKeyId() {
    return "AKIA" + base32(16);
  }

  /** A temporary access key id: {@code ASIA} and 16 of [A-Z2-7]. */
  static String temporaryAccessKeyId() {
    return "ASIA" + base32(16);
  }

  static String userId() {
    return "AIDA" + base32(17);
  }

  static String roleId() {
    return "AROA" + base32(17);
  }

  /** 40 characters of base64 (30 random bytes), like AWS's secret access keys. */
  static String secret() {
    byte[] b = new byte[30];
    RANDOM.nextBytes(b);
    return Base64.getEncoder().encodeToString(b);
  }

  /** 66 random bytes in base64 (88 characters): a session token. */
  static String sessionToken() {
    byte[] b = new byte[66];
    RANDOM.nextBytes(b);
    return Base64.getEncoder().encodeToString(b);
  }
}
