package io.kmsgw.api.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.api.kms.model.RequestValidator;
import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Issue #15 item 6 and 8: a request body means one thing, and a refusal says what is wrong. */
class StrictInputTest {
  private final RequestValidator validator = new RequestValidator(ServiceModel.kms());

  private static byte[] body(String before, byte[] raw, String after) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(before.getBytes(StandardCharsets.UTF_8));
    out.writeBytes(raw);
    out.writeBytes(after.getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  private static KmsException serialization(byte[] body) {
    KmsException e = assertThrows(KmsException.class, () -> JsonBody.parseObject(body));
    assertEquals(ErrorCode.SERIALIZATION, e.code(), e.getMessage());
    return e;
  }

  private KmsException refusedBlob(String plaintext) {
    Map<String, Object> parsed = JsonBody.parseObject(("{\"KeyId\":\"k\",\"Plaintext\":\"" + plaintext + "\"}")
        .getBytes(StandardCharsets.UTF_8));
    KmsException e = assertThrows(KmsException.class, () -> validator.validate("EncryptRequest", parsed));
    assertEquals(ErrorCode.SERIALIZATION, e.code(), e.getMessage());
    return e;
  }

  @Test
  void overlongSlashInAContextValue_isRefusedNotReadAsSlash() {
    KmsException e = serialization(body("{\"EncryptionContext\":{\"a\":\"", new byte[] {(byte) 0xC0, (byte) 0xAF},
        "\"}}"));
    assertTrue(e.getMessage().contains("not well-formed UTF-8"), e.getMessage());
  }

  @Test
  void otherIllFormedUtf8_isRefused() {
    byte[][] cases = {
        {(byte) 0xE0, (byte) 0x80, (byte) 0xAF},               // overlong three-byte "/"
        {(byte) 0xED, (byte) 0xA0, (byte) 0x80},               // an encoded surrogate (CESU-8)
        {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80},  // above U+10FFFF
        {(byte) 0x80},                                          // a stray continuation byte
        {(byte) 0xC3},                                          // truncated
        {(byte) 0xFF},
    };
    for (byte[] c : cases) {
      serialization(body("{\"KeyId\":\"", c, "\"}"));
      // in a member name too
      serialization(body("{\"", c, "\":\"x\"}"));
    }
  }

  @Test
  void wellFormedMultiByteText_isAccepted() {
    Map<String, Object> m = JsonBody.parseObject("{\"EncryptionContext\":{\"k\":\"h\u00e9 \u20ac \ud83d\ude00\"}}"
        .getBytes(StandardCharsets.UTF_8));
    assertEquals(Map.of("k", "h\u00e9 \u20ac \ud83d\ude00"), m.get("EncryptionContext"));
  }

  @Test
  void escapedLoneSurrogate_isRefused() {
    serialization("{\"KeyId\":\"\\ud800\"}".getBytes(StandardCharsets.UTF_8));
    serialization("{\"\\udc00\":\"x\"}".getBytes(StandardCharsets.UTF_8));
    // an escaped pair is one character, and fine
    assertEquals("\ud83d\ude00", JsonBody.parseObject("{\"KeyId\":\"\\ud83d\\ude00\"}"
        .getBytes(StandardCharsets.UTF_8)).get("KeyId"));
  }

  @Test
  void utf16Body_isNotGuessedButRefused() {
    serialization("{\"KeyId\":\"k\"}".getBytes(StandardCharsets.UTF_16LE));
  }

  @Test
  void base64WithoutPadding_isRefused() {
    KmsException e = refusedBlob("aGk");
    assertTrue(e.getMessage().contains("plaintext") && e.getMessage().contains("canonical padded base64"),
        e.getMessage());
  }

  @Test
  void base64WithNonZeroTrailingBits_isRefused() {
    refusedBlob("aGl=");
    refusedBlob("AB==");
  }

  @Test
  void base64UrlAlphabetOrWhitespace_isRefused() {
    refusedBlob("-_8=");
    refusedBlob("aGk=\\n");
    refusedBlob("aG k=");
  }

  @Test
  void canonicalBase64_isAccepted() {
    Map<String, Object> v = validator.validate("EncryptRequest", JsonBody.parseObject(
        "{\"KeyId\":\"k\",\"Plaintext\":\"aGk=\"}".getBytes(StandardCharsets.UTF_8)));
    assertArrayEquals("hi".getBytes(StandardCharsets.UTF_8), (byte[]) v.get("Plaintext"));
  }

  @Test
  void numberOfAHundredThousandDigits_isRefusedAsTooLongNotAsNesting() {
    KmsException e = serialization(("{\"NumberOfBytes\":" + "9".repeat(100_000) + "}")
        .getBytes(StandardCharsets.UTF_8));
    assertTrue(e.getMessage().contains("a number is longer than 1000 characters"), e.getMessage());
    assertTrue(!e.getMessage().contains("nested"), e.getMessage());
  }

  @Test
  void deepNesting_stillSaysNesting() {
    String deep = "{\"a\":" + "[".repeat(100) + "]".repeat(100) + "}";
    KmsException e = serialization(deep.getBytes(StandardCharsets.UTF_8));
    assertTrue(e.getMessage().contains("nested more than 32 levels"), e.getMessage());
  }

  /** Regression of PolicyFuzzTest's finding: Jackson's NumberFormatException escaped the parser (a 500). */
  @Test
  void exponentBeyondBigDecimal_isSerializationNotAnInternalError() {
    KmsException e = serialization("{\"Limit\":6e66666666666666666666}".getBytes(StandardCharsets.UTF_8));
    assertTrue(e.getMessage().contains("a number is out of range"), e.getMessage());
    assertThrows(io.kmsgw.policy.PolicyException.class, () -> io.kmsgw.policy.PolicyParser.parse(
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":6e66666666666666666666}]}",
        io.kmsgw.policy.PolicyParser.Kind.KEY));
  }
}
