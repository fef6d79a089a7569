package io.kmsgw.api.kms;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * Writes response members as the AWS JSON protocol does: blobs as base64 strings, timestamps as epoch seconds
 * with a fractional part.
 */
public final class JsonResponse {
  private static final JsonFactory FACTORY = new JsonFactory();

  private JsonResponse() {}

  public static byte[] write(Map<String, ?> members) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      writeValue(g, members);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void writeValue(JsonGenerator g, Object v) throws IOException {
    if (v == null) {
      g.writeNull();
    } else if (v instanceof String s) {
      g.writeString(s);
    } else if (v instanceof byte[] b) {
      g.writeString(Base64.getEncoder().encodeToString(b));
    } else if (v instanceof Boolean b) {
      g.writeBoolean(b);
    } else if (v instanceof Integer i) {
      g.writeNumber(i);
    } else if (v instanceof Long l) {
      g.writeNumber(l);
    } else if (v instanceof Instant t) {
      g.writeNumber(BigDecimal.valueOf(t.toEpochMilli(), 3));
    } else if (v instanceof Map<?, ?> m) {
      g.writeStartObject();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (e.getValue() != null) {
          g.writeFieldName((String) e.getKey());
          writeValue(g, e.getValue());
        }
      }
      g.writeEndObject();
    } else if (v instanceof List<?> l) {
      g.writeStartArray();
      for (Object o : l) {
        writeValue(g, o);
      }
      g.writeEndArray();
    } else if (v instanceof Number n) {
      g.writeNumber(n.toString());
    } else {
      throw new IllegalArgumentException("cannot write a " + v.getClass().getName() + " as JSON");
    }
  }
}
