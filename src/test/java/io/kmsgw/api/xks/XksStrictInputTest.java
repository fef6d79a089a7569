package io.kmsgw.api.xks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Issue #15 item 6 on the XKS API: ill-formed UTF-8 is a ValidationException (XKS spec errors), Base64 strict. */
class XksStrictInputTest {
  private static final String MD = "{\"awsPrincipalArn\":\"arn:aws:iam::123456789012:user/Alice\",\"kmsOperation\":"
      + "\"Decrypt\",\"kmsRequestId\":\"r\",\"kmsKeyArn\":\"arn:aws:kms:us-east-1:123456789012:key/k\"}";

  @Test
  void overlongUtf8InTheBody_isValidationException() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes("{\"requestMetadata\":{\"kmsRequestId\":\"".getBytes(StandardCharsets.UTF_8));
    out.writeBytes(new byte[] {(byte) 0xC0, (byte) 0xAF});
    out.writeBytes("\",\"kmsOperation\":\"x\"}}".getBytes(StandardCharsets.UTF_8));
    XksException e = assertThrows(XksException.class, () -> XksRequest.parse(out.toByteArray()));
    assertEquals(XksErrorCode.VALIDATION, e.code());
    assertTrue(e.getMessage().contains("not well-formed UTF-8"), e.getMessage());
  }

  @Test
  void unpaddedOrNonCanonicalBase64_isRefused() {
    for (String plaintext : new String[] {"aGk", "aGl=", "aGk=\\n"}) {
      Map<String, Object> body = XksRequest.parse(("{\"requestMetadata\":" + MD + ",\"plaintext\":\"" + plaintext
          + "\",\"encryptionAlgorithm\":\"AES_GCM\"}").getBytes(StandardCharsets.UTF_8));
      XksException e = assertThrows(XksException.class, () -> XksRequest.encrypt(body));
      assertEquals(XksErrorCode.VALIDATION, e.code(), plaintext);
    }
    Map<String, Object> body = XksRequest.parse(("{\"requestMetadata\":" + MD + ",\"ciphertext\":\"aGk\","
        + "\"encryptionAlgorithm\":\"AES_GCM\",\"initializationVector\":\"AAAAAAAAAAAAAAAA\","
        + "\"authenticationTag\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}").getBytes(StandardCharsets.UTF_8));
    assertEquals(XksErrorCode.INVALID_CIPHERTEXT,
        assertThrows(XksException.class, () -> XksRequest.decrypt(body)).code());
  }
}
