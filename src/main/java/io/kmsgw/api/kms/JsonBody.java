package io.kmsgw.api.kms;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses a request body strictly: one JSON object and nothing after it, no duplicate member names (a second
 * "KeyId" must not silently win), bounded nesting. Anything else is a {@code SerializationException}.
 */
public final class JsonBody {
  private static final JsonFactory FACTORY = JsonFactory.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(32).build())
      .build();

  private JsonBody() {}

  /** An empty body counts as {@code {}}, as the AWS JSON protocol treats it. */
  public static Map<String, Object> parseObject(byte[] body) {
    if (body.length == 0) {
      return new LinkedHashMap<>();
    }
    try (JsonParser p = FACTORY.createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw malformed("the request body must be a JSON object");
      }
      Map<String, Object> result = readObject(p);
      if (p.nextToken() != null) {
        throw malformed("unexpected content after the JSON object");
      }
      return result;
    } catch (IOException e) {
      throw malformed("the request body is not valid JSON");
    }
  }

  private static Map<String, Object> readObject(JsonParser p) throws IOException {
    Map<String, Object> map = new LinkedHashMap<>();
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      p.nextToken();
      map.put(name, readValue(p));
    }
    if (t != JsonToken.END_OBJECT) {
      throw malformed("the request body is not valid JSON");
    }
    return map;
  }

  private static Object readValue(JsonParser p) throws IOException {
    JsonToken t = p.currentToken();
    if (t == null) {
      throw malformed("the request body is truncated");
    }
    return switch (t) {
      case START_OBJECT -> readObject(p);
      case START_ARRAY -> {
        List<Object> list = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
          list.add(readValue(p));
        }
        yield list;
      }
      case VALUE_STRING -> p.getText();
      case VALUE_NUMBER_INT -> p.getNumberValue();
      case VALUE_NUMBER_FLOAT -> p.getDecimalValue();
      case VALUE_TRUE -> Boolean.TRUE;
      case VALUE_FALSE -> Boolean.FALSE;
      case VALUE_NULL -> null;
      default -> throw malformed("unexpected JSON token");
    };
  }

  private static KmsException malformed(String message) {
    return new KmsException(ErrorCode.SERIALIZATION, message);
  }
}
