package io.kmsgw.domain;

/** What a KMS key is for ({@code KeyUsageType} in the KMS model). */
public enum KeyUsage {
  ENCRYPT_DECRYPT,
  SIGN_VERIFY,
  GENERATE_VERIFY_MAC,
  KEY_AGREEMENT
}
