package io.kmsgw.format;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.Optional;

/**
 * ECDSA signature encodings: PKCS#11's {@code CKM_ECDSA} takes and returns {@code r || s} (two big-endian integers of
 * the curve's size, PKCS#11 v2.40 §2.3.1), while KMS, the JDK's {@code SHA256withECDSA}, OpenSSL and X.509 use the DER
 * {@code SEQUENCE { INTEGER r, INTEGER s }} (ANSI X9.62, RFC 3279 §2.2.3). The audit trail's digests and KMS's Sign and
 * Verify carry DER.
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

  /**
   * DER to {@code r || s} of {@code fieldBytes} each; empty when the bytes are not exactly one DER
   * {@code SEQUENCE { INTEGER r, INTEGER s }} (definite minimal lengths, minimal positive integers, nothing after it)
   * with both integers between 1 and {@code 2^(8*fieldBytes) - 1}. Verify answers a signature that is not such a value
   * as an invalid signature, without asking the HSM.
   */
  public static Optional<byte[]> derToRaw(byte[] der, int fieldBytes) {
    Reader in = new Reader(der);
    if (in.next() != 0x30) {
      return Optional.empty();
    }
    int bodyLength = in.length();
    if (bodyLength < 0 || bodyLength != in.remaining()) {
      return Optional.empty();
    }
    byte[] raw = new byte[2 * fieldBytes];
    for (int i = 0; i < 2; i++) {
      byte[] value = in.positiveInteger();
      if (value == null || value.length > fieldBytes) {
        return Optional.empty();
      }
      System.arraycopy(value, 0, raw, (i + 1) * fieldBytes - value.length, value.length);
    }
    return in.remaining() == 0 ? Optional.of(raw) : Optional.empty();
  }

  /** A cursor over DER bytes; every read past the end yields -1. */
  private static final class Reader {
    private final byte[] b;
    private int at;

    Reader(byte[] b) {
      this.b = b;
    }

    int remaining() {
      return b.length - at;
    }

    int next() {
      return at < b.length ? b[at++] & 0xff : -1;
    }

    /** A definite length in its minimal form (one byte, or 0x81 and one byte of at least 128), or -1. */
    int length() {
      int first = next();
      if (first < 0x80) {
        return first;
      }
      if (first != 0x81) {
        return -1;
      }
      int n = next();
      return n >= 0x80 ? n : -1;
    }

    /** The magnitude of a minimally encoded INTEGER greater than zero, without its sign byte; null otherwise. */
    byte[] positiveInteger() {
      if (next() != 0x02) {
        return null;
      }
      int n = length();
      if (n <= 0 || n > remaining()) {
        return null;
      }
      byte[] v = Arrays.copyOfRange(b, at, at + n);
      at += n;
      if ((v[0] & 0x80) != 0) {
        return null; // negative
      }
      if (v[0] == 0) {
        if (n == 1 || (v[1] & 0x80) == 0) {
          return null; // zero, or a sign byte that is not needed
        }
        return Arrays.copyOfRange(v, 1, n);
      }
      return v;
    }
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
