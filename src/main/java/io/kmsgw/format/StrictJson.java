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
 *
 * <p>The bytes must be well-formed UTF-8 ({@link StrictUtf8}: an overlong {@code C0 AF} is refused, not read as
 * {@code /}) and are read as UTF-8 only (no guessing of UTF-16 or UTF-32 from zero bytes); member names and string
 * values must be well-formed Unicode (an escaped surrogate without its pair is refused). Numbers are at most
 * {@link #MAX_NUMBER_LENGTH} characters long.
 */
public final class StrictJson {
  /** Most nesting of objects and arrays. */
  public static final int MAX_DEPTH = 32;
  /** Most characters in one number, sign, digits, point and exponent included (Jackson's default, stated). */
  public static final int MAX_NUMBER_LENGTH = 1000;

  private static final JsonFactory FACTORY = JsonFactory.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH)
          .maxNumberLength(MAX_NUMBER_LENGTH).build())
      .build();

  /** A document that is not one strict JSON object; the message says what is wrong, never quoting the input. */
  public static final class MalformedJson extends Exception {
    MalformedJson(String message) {
      super(message, null, false, false);
    }
  }

  private StrictJson() {}

  public static Map<String, Object> parseObject(byte[] document) throws MalformedJson {
    String text;
    try {
      text = StrictUtf8.decode(document);
    } catch (StrictUtf8.Malformed e) {
      throw new MalformedJson("it is not well-formed UTF-8");
    }
    try (JsonParser p = FACTORY.createParser(text)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new MalformedJson("it must be a JSON object");
      }
      Map<String, Object> result = readObject(p);
      if (p.nextToken() != null) {
        throw new MalformedJson("unexpected content after the JSON object");
      }
      return result;
    } catch (com.fasterxml.jackson.core.exc.StreamConstraintsException e) {
      throw new MalformedJson(constraint(e.getMessage()));
    } catch (com.fasterxml.jackson.core.JsonParseException e) {
      String m = e.getOriginalMessage();
      throw new MalformedJson(m != null && m.startsWith("Duplicate field")
          ? "a member name appears twice in one object" : "it is not valid JSON");
    } catch (IOException e) {
      throw new MalformedJson("it is not valid JSON");
    }
  }

  /** Which limit a document broke, from Jackson's message (which names the limit, never the input). */
  private static String constraint(String jacksonMessage) {
    String m = jacksonMessage == null ? "" : jacksonMessage;
    if (m.startsWith("Number value length")) {
      return "a number is longer than " + MAX_NUMBER_LENGTH + " characters";
    }
    if (m.contains("nesting depth")) {
      return "it is nested more than " + MAX_DEPTH + " levels deep";
    }
    if (m.startsWith("String value length") || m.startsWith("Name length")) {
      return "a string is too long";
    }
    return "it exceeds a parser limit";
  }

  private static String text(String s) throws MalformedJson {
    if (!StrictUtf8.wellFormed(s)) {
      throw new MalformedJson("a string holds an unpaired surrogate (not well-formed Unicode)");
    }
    return s;
  }

  /**
   * A number as Jackson reads it. An exponent beyond what BigDecimal holds ({@code 1e99999999999}) makes Jackson
   * throw NumberFormatException, which is no parse error of its own: found by PolicyFuzzTest.
   */
  private static Number number(JsonParser p, JsonToken t) throws IOException, MalformedJson {
    try {
      return t == JsonToken.VALUE_NUMBER_INT ? p.getNumberValue() : p.getDecimalValue();
    } catch (NumberFormatException | ArithmeticException e) {
      throw new MalformedJson("a number is out of range");
    }
  }

  private static Map<String, Object> readObject(JsonParser p) throws IOException, MalformedJson {
    Map<String, Object> map = new LinkedHashMap<>();
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String name = text(p.currentName());
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
      case VALUE_STRING -> text(p.getText());
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> number(p, t);
      case VALUE_TRUE -> Boolean.TRUE;
      case VALUE_FALSE -> Boolean.FALSE;
      case VALUE_NULL -> null;
      default -> throw new MalformedJson("unexpected JSON token");
    };
  }
}
