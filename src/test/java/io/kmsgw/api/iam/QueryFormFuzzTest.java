package io.kmsgw.api.iam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.testing.Fuzzing;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The IAM/STS form parser. Must hold: the only failure is a SerializationException (not a form, not UTF-8) or a
 * ValidationException (a parameter twice); what parses, encoded again as a form, parses to the same parameters;
 * the request log's action name is always an answer ("-" at worst), never an exception.
 */
class QueryFormFuzzTest {
  @FuzzTest(maxDuration = Fuzzing.BUDGET)
  void formParsesOrIsRefused(byte[] body) {
    String action = QueryApi.actionOf(body);
    assertTrue(action.equals("-") || action.chars().allMatch(Character::isLetter), action);
    Map<String, String> form;
    try {
      form = QueryApi.parseForm(body);
    } catch (KmsException e) {
      assertTrue(e.code() == ErrorCode.SERIALIZATION || e.code() == ErrorCode.VALIDATION, e.code().toString());
      return;
    }
    String again = form.entrySet().stream().map(e -> encode(e.getKey()) + "=" + encode(e.getValue()))
        .collect(Collectors.joining("&"));
    assertEquals(form, QueryApi.parseForm(again.getBytes(StandardCharsets.US_ASCII)));
  }

  /** Every byte of the UTF-8 form as %XX: an encoder that shares nothing with the parser. */
  private static String encode(String s) {
    StringBuilder sb = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      sb.append('%').append(String.format("%02X", b & 0xff));
    }
    return sb.toString();
  }
}
