package io.kmsgw.api.kms;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.StrictJson;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Parses a request body strictly ({@link StrictJson}): one JSON object and nothing after it, no duplicate member
 * names (a second "KeyId" must not silently win), bounded nesting. Anything else is a {@code SerializationException}.
 */
public final class JsonBody {
  private JsonBody() {}

  /** An empty body counts as {@code {}}, as the AWS JSON protocol treats it. */
  public static Map<String, Object> parseObject(byte[] body) {
    if (body.length == 0) {
      return new LinkedHashMap<>();
    }
    try {
      return StrictJson.parseObject(body);
    } catch (StrictJson.MalformedJson e) {
      throw new KmsException(ErrorCode.SERIALIZATION, "the request body is not acceptable: " + e.getMessage());
    }
  }
}
