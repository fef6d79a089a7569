package io.kmsgw.format;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Decodes untrusted bytes as UTF-8 and refuses anything ill-formed (RFC 3629): overlong forms ({@code C0 AF} is
 * not {@code /}), encoded surrogates ({@code ED A0 80}), code points above U+10FFFF, truncated or stray continuation
 * bytes. {@code new String(bytes, UTF_8)} would replace such bytes with U+FFFD and go on, so two different byte
 * strings could reach the same text: a request must mean one thing.
 */
public final class StrictUtf8 {
  /** Bytes that are not well-formed UTF-8. The message never quotes them. */
  public static final class Malformed extends Exception {
    Malformed(String message) {
      super(message, null, false, false);
    }
  }

  private StrictUtf8() {}

  /** The text the bytes encode, or {@link Malformed} when they are not well-formed UTF-8. */
  public static String decode(byte[] bytes) throws Malformed {
    return decode(bytes, 0, bytes.length);
  }

  public static String decode(byte[] bytes, int offset, int length) throws Malformed {
    // a decoder is not thread-safe and cheap to make; the JDK's own String decoding cannot be told to REPORT
    CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    try {
      return decoder.decode(ByteBuffer.wrap(bytes, offset, length)).toString();
    } catch (CharacterCodingException e) {
      throw new Malformed("it is not well-formed UTF-8");
    }
  }

  /** Whether a Java string is well-formed UTF-16: every surrogate is part of a pair (so it has a UTF-8 form). */
  public static boolean wellFormed(CharSequence s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
          return false;
        }
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return false;
      }
    }
    return true;
  }
}
