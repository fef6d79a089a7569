package io.kmsgw.api.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.kmsgw.api.kms.model.RequestValidator;
import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.testing.Fuzzing;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A KMS request body through the strict parser and the model validation of one operation (the first byte picks
 * it). Must hold: the only failure is a SerializationException or ValidationException; a body that parses is
 * well-formed UTF-8; a refused body hands the audit trail a copy in which nothing failed verbatim (checked by the
 * redaction keeping the map shape).
 */
class JsonBodyFuzzTest {
  private static final ServiceModel MODEL = ServiceModel.kms();
  private static final RequestValidator VALIDATOR = new RequestValidator(MODEL);
  private static final List<String> SHAPES = MODEL.operations().values().stream()
      .map(ServiceModel.Operation::input).filter(s -> s != null).sorted().distinct().toList();
  private static final Set<ErrorCode> ALLOWED = Set.of(ErrorCode.SERIALIZATION, ErrorCode.VALIDATION);

  @FuzzTest(maxDuration = Fuzzing.BUDGET)
  void bodyIsParsedAndValidated(byte[] data) {
    if (data.length == 0) {
      return;
    }
    String shape = SHAPES.get((data[0] & 0xff) % SHAPES.size());
    byte[] body = Arrays.copyOfRange(data, 1, data.length);
    Map<String, Object> parsed;
    try {
      parsed = JsonBody.parseObject(body);
    } catch (KmsException e) {
      assertTrue(e.code() == ErrorCode.SERIALIZATION, e.code() + ": " + e.getMessage());
      return;
    }
    // an independent test of well-formedness: well-formed UTF-8 survives decoding and encoding unchanged
    assertArrayEquals(body, new String(body, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8),
        "a body that is not well-formed UTF-8 was accepted");
    Map<String, Object>[] redacted = newRedactedHolder();
    try {
      VALIDATOR.validate(shape, parsed, r -> redacted[0] = r);
    } catch (KmsException e) {
      assertTrue(ALLOWED.contains(e.code()), e.code() + ": " + e.getMessage());
      assertTrue(redacted[0] != null && redacted[0].keySet().size() <= parsed.keySet().size() + 0
          && redacted[0].keySet().containsAll(parsed.keySet()), "the audit copy has the request's members");
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object>[] newRedactedHolder() {
    return (Map<String, Object>[]) new Map<?, ?>[1];
  }
}
