package io.kmsgw.format;

import io.kmsgw.error.KmsException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;

/**
 * Canonical binary encoding of an encryption context, bound as additional authenticated data.
 *
 * <p>Layout (all integers unsigned big-endian):
 *
 * <pre>
 * offset  size  field
 * 0       2     pair count N (0 for an absent or empty context)
 * then N times, pairs sorted by the UTF-8 bytes of the key, compared as unsigned bytes:
 *         2     key length K
 *         K     key, UTF-8
 *         2     value length V
 *         V     value, UTF-8
 * </pre>
 *
 * <p>Every pair is length-prefixed, so no two different contexts encode to the same bytes ({@code {"a":"bc"}}
 * and {@code {"ab":"c"}} differ); sorting makes the encoding independent of the order the client sent. Strings
 * must be well-formed Unicode: a lone surrogate would otherwise encode as {@code ?} and collide with a real
 * question mark. The whole encoding is limited to {@value #MAX_ENCODED_BYTES} bytes.
 */
public final class EncryptionContextCodec {
  /** Upper bound on the encoded context, in bytes (AWS KMS limits the context to 8 KiB). */
  public static final int MAX_ENCODED_BYTES = 8192;

  private static final byte[] EMPTY = {0, 0};

  private EncryptionContextCodec() {}

  /**
   * Encodes a context; {@code null} or empty encodes as two zero bytes.
   *
   * @throws KmsException ValidationException for a malformed or oversized context
   */
  public static byte[] encode(Map<String, String> context) {
    if (context == null || context.isEmpty()) {
      return EMPTY.clone();
    }
    if (context.size() > 0xFFFF) {
      throw KmsException.validation("EncryptionContext has too many pairs");
    }
    byte[][] keys = new byte[context.size()][];
    byte[][] values = new byte[context.size()][];
    Integer[] order = new Integer[context.size()];
    int i = 0;
    int total = 2;
    for (Map.Entry<String, String> e : context.entrySet()) {
      if (e.getKey() == null || e.getValue() == null) {
        throw KmsException.validation("EncryptionContext keys and values must be strings");
      }
      keys[i] = utf8(e.getKey());
      values[i] = utf8(e.getValue());
      total += 4 + keys[i].length + values[i].length;
      if (total > MAX_ENCODED_BYTES) {
        throw KmsException.validation(
            "EncryptionContext is too large: its encoding exceeds " + MAX_ENCODED_BYTES + " bytes");
      }
      order[i] = i;
      i++;
    }
    Arrays.sort(order, Comparator.comparing(k -> keys[k], Arrays::compareUnsigned));
    ByteArrayOutputStream out = new ByteArrayOutputStream(total);
    writeU16(out, context.size());
    for (int k : order) {
      writeU16(out, keys[k].length);
      out.writeBytes(keys[k]);
      writeU16(out, values[k].length);
      out.writeBytes(values[k]);
    }
    return out.toByteArray();
  }

  private static byte[] utf8(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
          continue;
        }
        throw KmsException.validation("EncryptionContext contains an unpaired surrogate character");
      }
      if (Character.isLowSurrogate(c)) {
        throw KmsException.validation("EncryptionContext contains an unpaired surrogate character");
      }
    }
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static void writeU16(ByteArrayOutputStream out, int v) {
    out.write((v >>> 8) & 0xFF);
    out.write(v & 0xFF);
  }
}
