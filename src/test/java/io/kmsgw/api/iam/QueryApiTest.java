package io.kmsgw.api.iam;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
