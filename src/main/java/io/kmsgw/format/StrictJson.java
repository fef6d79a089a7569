package io.kmsgw.format;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Strict JSON for untrusted documents (request bodies, policies): one object and nothing after it, no duplicate
 * member names (a second "Effect" must not silently win), bounded nesting. The tree is made of {@code Map},
 * {@code List}, {@code String}, {@code Number}, {@code Boolean} and null.
 */
public final class StrictJson {
  private static final JsonFactory FACTORY = JsonFactory.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(32).build())
      .build();

  /** A document that is not one strict JSON object; the message says what is wrong, never quoting the input. */
  public static final class MalformedJson extends Exception {
    MalformedJson(String message) {
      super(message, null, false, false);
    }
  }

  private StrictJson() {}

  public static Map<String, Object> parseObject(byte[] document) throws MalformedJson {
    try (JsonParser p = FACTORY.createParser(document)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new MalformedJson("it must be a JSON object");
      }
      Map<String, Object> result = readObject(p);
      if (p.nextToken() != null) {
        throw new MalformedJson("unexpected content after the JSON object");
      }
      return result;
    } catch (com.fasterxml.jackson.core.exc.StreamConstraintsException e) {
      throw new MalformedJson("it is nested too deeply");
    } catch (com.fasterxml.jackson.core.JsonParseException e) {
      String m = e.getOriginalMessage();
      throw new MalformedJson(m != null && m.startsWith("Duplicate field")
          ? "a member name appears twice in one object" : "it is not valid JSON");
    } catch (IOException e) {
      throw new MalformedJson("it is not valid JSON");
    }
  }

  private static Map<String, Object> readObject(JsonParser p) throws IOException, MalformedJson {
    Map<String, Object> map = new LinkedHashMap<>();
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      p.nextToken();
      map.put(name, readValue(p));
    }
    if (t != JsonToken.END_OBJECT) {
      throw new MalformedJson("it is not valid JSON");
    }
    return map;
  }

  private static Object readValue(JsonParser p) throws IOException, MalformedJson {
    JsonToken t = p.currentToken();
    if (t == null) {
      throw new MalformedJson("it is truncated");
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
      default -> throw new MalformedJson("unexpected JSON token");
    };
  }
}
