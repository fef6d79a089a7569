package io.kmsgw.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.testing.Fuzzing;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The ciphertext blob and the encryption-context encoding. Must hold: a blob either parses and writes back to
 * the same bytes, or is InvalidCiphertextException; the context encoding does not depend on the map's order, and
 * two different contexts never encode to the same bytes (else a ciphertext would open under a context it was not
 * made with); a context is refused only with ValidationException.
 */
class CiphertextFormatFuzzTest {
  @FuzzTest(maxDuration = Fuzzing.BUDGET)
  void blobAndContextCodecs(FuzzedDataProvider data) {
    byte[] blob = data.consumeBytes(data.consumeInt(0, 200));
    try {
      CiphertextBlob b = CiphertextBlob.parse(blob);
      assertArrayEquals(blob, b.toBytes());
      assertArrayEquals(Arrays.copyOf(blob, CiphertextBlob.HEADER_LENGTH), b.header());
      assertEquals(b.keyId(), CiphertextBlob.peekKeyId(blob).orElseThrow());
      assertTrue(b.keyVersion() >= 1);
    } catch (KmsException e) {
      assertEquals(ErrorCode.INVALID_CIPHERTEXT, e.code());
    }

    Map<String, String> a = context(data);
    Map<String, String> b = context(data);
    byte[] ea = encodeOrNull(a);
    byte[] eb = encodeOrNull(b);
    if (ea != null) {
      // another insertion order, the same bytes
      Map<String, String> reversed = new LinkedHashMap<>();
      new TreeMap<>(a).descendingMap().forEach(reversed::put);
      assertArrayEquals(ea, EncryptionContextCodec.encode(reversed));
    }
    if (ea != null && eb != null && !a.equals(b)) {
      assertFalse(Arrays.equals(ea, eb), "two different contexts encode alike: " + a.keySet() + " / " + b.keySet());
    }
  }

  private static Map<String, String> context(FuzzedDataProvider data) {
    Map<String, String> m = new LinkedHashMap<>();
    int n = data.consumeInt(0, 4);
    for (int i = 0; i < n; i++) {
      m.put(data.consumeString(12), data.consumeString(12));
    }
    return m;
  }

  private static byte[] encodeOrNull(Map<String, String> context) {
    try {
      return EncryptionContextCodec.encode(context);
    } catch (KmsException e) {
      assertEquals(ErrorCode.VALIDATION, e.code(), e.getMessage());
      return null;
    }
  }
}
