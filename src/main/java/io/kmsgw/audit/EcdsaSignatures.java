package io.kmsgw.audit;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.util.Arrays;

/**
 * ECDSA signature encodings: PKCS#11's {@code CKM_ECDSA} returns {@code r || s} (two big-endian integers of the
 * curve's size), while the JDK's {@code SHA256withECDSA}, OpenSSL and X.509 use the DER
 * {@code SEQUENCE { INTEGER r, INTEGER s }} (RFC 3279 §2.2.3). Digests carry DER.
 */
public final class EcdsaSignatures {
  private EcdsaSignatures() {}

  /** {@code r || s} (even length) to DER. */
  public static byte[] rawToDer(byte[] raw) {
    if (raw.length == 0 || raw.length % 2 != 0 || raw.length > 132) {
      throw new IllegalArgumentException("not a raw ECDSA signature: " + raw.length + " bytes");
    }
    int half = raw.length / 2;
    byte[] r = new BigInteger(1, Arrays.copyOfRange(raw, 0, half)).toByteArray();
    byte[] s = new BigInteger(1, Arrays.copyOfRange(raw, half, raw.length)).toByteArray();
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    integer(body, r);
    integer(body, s);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0x30);
    length(out, body.size());
    out.writeBytes(body.toByteArray());
    return out.toByteArray();
  }

  private static void integer(ByteArrayOutputStream out, byte[] minimalTwosComplement) {
    out.write(0x02);
    length(out, minimalTwosComplement.length);
    out.writeBytes(minimalTwosComplement);
  }

  private static void length(ByteArrayOutputStream out, int n) {
    if (n < 128) {
      out.write(n);
    } else {
      out.write(0x81);
      out.write(n);
    }
  }
}
