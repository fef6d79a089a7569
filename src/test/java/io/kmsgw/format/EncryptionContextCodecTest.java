package io.kmsgw.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EncryptionContextCodecTest {
  private static byte[] hex(String s) {
    return HexFormat.of().parseHex(s.replace(" ", ""));
  }

  @Test
  void encode_absentOrEmpty_isTwoZeroBytes() {
    assertArrayEquals(hex("0000"), EncryptionContextCodec.encode(null));
    assertArrayEquals(hex("0000"), EncryptionContextCodec.encode(Map.of()));
  }

  @Test
  void encode_onePair_matchesVector() {
    // count=1, key "a" (len 1), value "bc" (len 2)
    assertArrayEquals(hex("0001 0001 61 0002 6263"), EncryptionContextCodec.encode(Map.of("a", "bc")));
  }

  @Test
  void encode_pairsAreSortedByUtf8Bytes_matchesVector() {
    Map<String, String> ctx = new LinkedHashMap<>();
    ctx.put("purpose", "test");
    ctx.put("app", "demo");
    ctx.put("\u00e9", "x"); // U+00E9 is C3 A9 in UTF-8, after every ASCII key
    assertArrayEquals(
        hex("0003" + "0003 617070 0004 64656d6f" + "0007 707572706f7365 0004 74657374" + "0002 c3a9 0001 78"),
        EncryptionContextCodec.encode(ctx));
  }

  @Test
  void encode_isIndependentOfInsertionOrder() {
    Map<String, String> a = new LinkedHashMap<>();
    a.put("x", "1");
    a.put("y", "2");
    Map<String, String> b = new LinkedHashMap<>();
    b.put("y", "2");
    b.put("x", "1");
    assertArrayEquals(EncryptionContextCodec.encode(a), EncryptionContextCodec.encode(b));
  }

  @Test
  void encode_lengthPrefixesKeepShiftedBoundariesApart() {
    assertFalse(Arrays.equals(EncryptionContextCodec.encode(Map.of("a", "bc")),
        EncryptionContextCodec.encode(Map.of("ab", "c"))));
  }

  @Test
  void encode_keysCompareCaseSensitively() {
    assertFalse(Arrays.equals(EncryptionContextCodec.encode(Map.of("Key", "v")),
        EncryptionContextCodec.encode(Map.of("key", "v"))));
  }

  @Test
  void encode_withUnpairedSurrogate_failsValidation() {
    KmsException e = assertThrows(KmsException.class, () -> EncryptionContextCodec.encode(Map.of("k", "\ud800")));
    assertEquals(ErrorCode.VALIDATION, e.code());
    assertThrows(KmsException.class, () -> EncryptionContextCodec.encode(Map.of("\udc00x", "v")));
  }

  @Test
  void encode_withPairedSurrogate_isAccepted() {
    byte[] out = EncryptionContextCodec.encode(Map.of("k", "\ud83d\ude00"));
    assertArrayEquals(hex("0001 0001 6b 0004 f09f9880"), out);
  }

  @Test
  void encode_overTheSizeLimit_failsValidation() {
    String big = "v".repeat(EncryptionContextCodec.MAX_ENCODED_BYTES);
    KmsException e = assertThrows(KmsException.class, () -> EncryptionContextCodec.encode(Map.of("k", big)));
    assertEquals(ErrorCode.VALIDATION, e.code());
  }

  @Test
  void encode_exactlyAtTheSizeLimit_isAccepted() {
    // 2 (count) + 2 + 1 (key) + 2 + n (value) = 8192
    String value = "v".repeat(EncryptionContextCodec.MAX_ENCODED_BYTES - 7);
    assertEquals(EncryptionContextCodec.MAX_ENCODED_BYTES, EncryptionContextCodec.encode(Map.of("k", value)).length);
  }
}
