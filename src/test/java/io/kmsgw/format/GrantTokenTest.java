package io.kmsgw.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The grant token: names its grant, differs at every issue, and a mangled one is InvalidGrantTokenException. */
class GrantTokenTest {
  private static final String ID = "0123456789abcdef".repeat(4);

  private static void assertInvalid(String token) {
    KmsException e = assertThrows(KmsException.class, () -> GrantToken.grantId(token));
    assertEquals(ErrorCode.INVALID_GRANT_TOKEN, e.code());
  }

  @Test
  void token_namesItsGrant_andIsNewEachTime() {
    String a = GrantToken.issue(ID);
    String b = GrantToken.issue(ID);
    assertEquals(ID, GrantToken.grantId(a));
    assertEquals(ID, GrantToken.grantId(b));
    assertNotEquals(a, b);
    assertEquals(76, a.length());
  }

  @Test
  void everySingleCharacterChange_isRefused() {
    String token = GrantToken.issue(ID);
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      char other = c == 'A' ? 'B' : 'A';
      String mangled = token.substring(0, i) + other + token.substring(i + 1);
      // 57 bytes are exactly 76 base64 characters: every character carries data
      assertInvalid(mangled);
    }
  }

  @Test
  void malformedTokens_areRefused() {
    assertInvalid("not a token");
    assertInvalid("AAAA");
    assertInvalid(GrantToken.issue(ID) + "AAAA");
    assertInvalid(GrantToken.issue(ID).substring(1));
  }

  @Test
  void checkAll_refusesAListWithOneBadToken() {
    GrantToken.checkAll(List.of(GrantToken.issue(ID), GrantToken.issue(ID)));
    assertThrows(KmsException.class, () -> GrantToken.checkAll(List.of(GrantToken.issue(ID), "x")));
  }
}
