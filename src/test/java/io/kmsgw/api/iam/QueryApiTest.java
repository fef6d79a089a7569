package io.kmsgw.api.iam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What the request log may take from a Query request before its signature is checked. */
class QueryApiTest {
  private static String action(String body) {
    return QueryApi.actionOf(body.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void actionForTheLog_isAnActionNameOrNothing() {
    assertEquals("CreateUser", action("Action=CreateUser&Version=2010-05-08"));
    // a forged second log line, control characters, overlong or missing names never reach the log
    assertEquals("-", action("Action=X%0A2025-01-01T00:00:00Z%20REQUEST%20id%3Dforged&Version=2010-05-08"));
    assertEquals("-", action("Action=" + "A".repeat(65)));
    assertEquals("-", action("Version=2010-05-08"));
    assertEquals("-", action("Action=Get%20User"));
  }

  @Test
  void formWithOverlongUtf8_isRefusedRawOrPercentEncoded() {
    byte[] raw = {'A', 'c', 't', 'i', 'o', 'n', '=', 'X', '&', 'U', 's', 'e', 'r', 'N', 'a', 'm', 'e', '=',
        (byte) 0xC0, (byte) 0xAF};
    KmsException e = assertThrows(KmsException.class, () -> QueryApi.parseForm(raw));
    assertEquals(ErrorCode.SERIALIZATION, e.code());
    KmsException p = assertThrows(KmsException.class,
        () -> QueryApi.parseForm("Action=X&UserName=%C0%AF".getBytes(StandardCharsets.UTF_8)));
    assertEquals(ErrorCode.SERIALIZATION, p.code());
    assertTrue(p.getMessage().contains("not well-formed UTF-8"), p.getMessage());
    // the request log and the failure handler still get an answer, not an exception
    assertEquals("-", QueryApi.actionOf(raw));
    assertEquals("/", QueryApi.parseForm("UserName=%2F".getBytes(StandardCharsets.UTF_8)).get("UserName"));
    assertEquals("\u00e9", QueryApi.parseForm("UserName=%C3%A9".getBytes(StandardCharsets.UTF_8)).get("UserName"));
  }
}
