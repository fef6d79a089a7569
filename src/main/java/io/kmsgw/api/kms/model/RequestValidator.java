package io.kmsgw.api.kms.model;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.StrictBase64;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Checks a parsed JSON request against its input shape in the service model and converts it to Java values:
 * strings stay {@link String}, blobs become {@code byte[]} (decoded from canonical padded base64, {@link StrictBase64}), integers {@link Integer}, longs
 * {@link Long}, booleans {@link Boolean}, timestamps {@link Instant}, lists {@link List}, maps and structures
 * {@link Map}. Members the model does not know are dropped (a newer SDK may send them), and JSON nulls count as
 * absent.
 *
 * <p>A value of the wrong JSON type is a {@code SerializationException}, as AWS answers; a value of the right type
 * that breaks a constraint (required, length, range, enum, pattern) is collected, and all of them are reported in
 * one {@code ValidationException} naming each field. Values are never echoed back: they may be secret or hostile.
 */
public final class RequestValidator {
  private final ServiceModel model;

  public RequestValidator(ServiceModel model) {
    this.model = model;
  }

  /**
   * Where a value sits in the request, rendered as AWS does ({@code tags.1.member.tagKey}) only when an error needs
   * it: most requests are valid, and building path strings for every member would cost each of them.
   */
  private record Where(Where parent, String member, int index) {
    static final Where ROOT = new Where(null, null, 0);

    Where member(String name) {
      return new Where(this, name, 0);
    }

    Where element(int i) {
      return new Where(this, null, i);
    }

    Where suffix(String s) {
      return new Where(this, "\u0000" + s, 0);
    }

    @Override
    public String toString() {
      if (parent == null) {
        return "";
      }
      String up = parent.toString();
      String part = member == null ? (index + ".member")
          : member.startsWith("\u0000") ? member.substring(1) : lowerFirst(member);
      return up.isEmpty() ? part : up + "." + part;
    }
  }

  /** Validates a request body (already parsed) against the named input shape. */
  public Map<String, Object> validate(String shapeName, Map<String, Object> body) {
    return validate(shapeName, body, null);
  }

  /**
   * Validates a request body, and when it is refused, first hands {@code refused} a copy of the body in which
   * every value that failed is replaced by its {@link FailedValues#marker} (for the audit trail).
   */
  public Map<String, Object> validate(String shapeName, Map<String, Object> body,
      Consumer<Map<String, Object>> refused) {
    Problems errors = new Problems();
    Map<String, Object> out;
    try {
      @SuppressWarnings("unchecked")
      Map<String, Object> o = (Map<String, Object>) convert(model.shape(shapeName), body, Where.ROOT, errors);
      out = o;
    } catch (KmsException e) {
      if (refused != null) {
        refused.accept(FailedValues.redact(body, errors.failed));
      }
      throw e;
    }
    if (!errors.isEmpty()) {
      if (refused != null) {
        refused.accept(FailedValues.redact(body, errors.failed));
      }
      StringBuilder sb = new StringBuilder();
      sb.append(errors.size()).append(errors.size() == 1 ? " validation error detected: " : " validation errors detected: ");
      sb.append(String.join("; ", errors));
      throw KmsException.validation(sb.toString());
    }
    return out;
  }

  /** The messages of the constraints a request breaks, and the values (by identity) that broke them. */
  private static final class Problems extends ArrayList<String> {
    final Set<Object> failed = Collections.newSetFromMap(new IdentityHashMap<>());
    /** Set once the value behind a thrown SerializationException is in {@link #failed}, so no parent is. */
    boolean thrownMarked;

    /** Marks {@code value} as failed when messages were added since {@code before}. */
    void markIfGrown(int before, Object value) {
      if (size() > before) {
        failed.add(value);
      }
    }
  }

  private Object convert(Shape shape, Object value, Where path, Problems errors) {
    try {
      return convertValue(shape, value, path, errors);
    } catch (KmsException e) {
      // the innermost value is the one whose type or encoding was wrong
      if (!errors.thrownMarked && value != null) {
        errors.failed.add(value);
        errors.thrownMarked = true;
      }
      throw e;
    }
  }

  private Object convertValue(Shape shape, Object value, Where path, Problems errors) {
    switch (shape.type()) {
      case "structure" -> {
        Map<?, ?> in = expect(value, Map.class, path, "an object");
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> m : shape.members().entrySet()) {
          Object v = in.get(m.getKey());
          Where memberPath = path.member(m.getKey());
          if (v == null) {
            if (shape.required().contains(m.getKey())) {
              errors.add("Value at '" + memberPath + "' failed to satisfy constraint: Member must not be null");
            }
            continue;
          }
          out.put(m.getKey(), convert(model.shape(m.getValue()), v, memberPath, errors));
        }
        return out;
      }
      case "list" -> {
        List<?> in = expect(value, List.class, path, "an array");
        int before = errors.size();
        checkLength(shape, in.size(), path, errors, "have length");
        errors.markIfGrown(before, in);
        List<Object> out = new ArrayList<>(in.size());
        Shape member = model.shape(shape.member());
        for (int i = 0; i < in.size(); i++) {
          if (in.get(i) == null) {
            errors.add("Value at '" + path.element(i + 1) + "' failed to satisfy constraint: Member must not be null");
            continue;
          }
          out.add(convert(member, in.get(i), path.element(i + 1), errors));
        }
        return out;
      }
      case "map" -> {
        Map<?, ?> in = expect(value, Map.class, path, "an object");
        int before = errors.size();
        checkLength(shape, in.size(), path, errors, "have length");
        errors.markIfGrown(before, in);
        Shape keyShape = model.shape(shape.key());
        Shape valueShape = model.shape(shape.value());
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : in.entrySet()) {
          String k = (String) convert(keyShape, e.getKey(), path.suffix("key"), errors);
          if (e.getValue() == null) {
            errors.add("Value at '" + path.suffix("value") + "' failed to satisfy constraint: Member must not be null");
            continue;
          }
          out.put(k, convert(valueShape, e.getValue(), path.suffix("value"), errors));
        }
        return out;
      }
      case "string" -> {
        String s = expect(value, String.class, path, "a string");
        int before = errors.size();
        checkLength(shape, s.codePointCount(0, s.length()), path, errors, "have length");
        if (shape.enumValues() != null && !shape.enumValues().contains(s)) {
          errors.add("Value at '" + path + "' failed to satisfy constraint: Member must satisfy enum value set: "
              + shape.enumValues());
        } else if (shape.pattern() != null && !shape.pattern().matcher(s).matches()) {
          errors.add("Value at '" + path + "' failed to satisfy constraint: Member must satisfy regular expression "
              + "pattern: " + shape.pattern().pattern());
        }
        errors.markIfGrown(before, s);
        return s;
      }
      case "blob" -> {
        String s = expect(value, String.class, path, "a base64 string");
        byte[] bytes = StrictBase64.decodeOrNull(s);
        if (bytes == null) {
          throw serialization("Value at '" + path + "' is not canonical padded base64 (RFC 4648 section 4)");
        }
        int before = errors.size();
        checkLength(shape, bytes.length, path, errors, "have length");
        errors.markIfGrown(before, s);
        return bytes;
      }
      case "integer", "long" -> {
        Number n = expect(value, Number.class, path, "a number");
        long v = integral(n, path, shape.type().equals("integer"));
        int before = errors.size();
        checkRange(shape, v, path, errors);
        errors.markIfGrown(before, n);
        return shape.type().equals("integer") ? (Object) (int) v : (Object) v;
      }
      case "boolean" -> {
        return expect(value, Boolean.class, path, "a boolean");
      }
      case "timestamp" -> {
        Number n = expect(value, Number.class, path, "a number of seconds");
        BigDecimal seconds = new BigDecimal(n.toString());
        try {
          return Instant.ofEpochMilli(seconds.movePointRight(3).longValueExact());
        } catch (ArithmeticException e) {
          throw serialization("Value at '" + path + "' is not a valid timestamp");
        }
      }
      case "double" -> {
        return expect(value, Number.class, path, "a number").doubleValue();
      }
      default -> throw new IllegalStateException("shape type " + shape.type() + " is not handled");
    }
  }

  private static final BigDecimal LONG_MIN = BigDecimal.valueOf(Long.MIN_VALUE);
  private static final BigDecimal LONG_MAX = BigDecimal.valueOf(Long.MAX_VALUE);

  /**
   * The exact whole value of a JSON number. The range is checked on the decimal form first: turning
   * {@code 1e30000000} into a BigInteger would take seconds of event-loop time.
   */
  private static long integral(Number n, Where path, boolean isInt) {
    BigDecimal d = n instanceof BigDecimal b ? b : new BigDecimal(n.toString());
    if (d.compareTo(LONG_MIN) < 0 || d.compareTo(LONG_MAX) > 0) {
      throw serialization("Value at '" + path + "' is out of range for its type");
    }
    if (d.signum() != 0 && d.stripTrailingZeros().scale() > 0) {
      throw serialization("Value at '" + path + "' must be a whole number");
    }
    long v = d.longValue();
    if (isInt && (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE)) {
      throw serialization("Value at '" + path + "' is out of range for its type");
    }
    return v;
  }

  private static void checkLength(Shape shape, long length, Where path, List<String> errors, String what) {
    if (shape.min() != null && length < shape.min()) {
      errors.add("Value at '" + path + "' failed to satisfy constraint: Member must " + what
          + " greater than or equal to " + shape.min());
    }
    if (shape.max() != null && length > shape.max()) {
      errors.add("Value at '" + path + "' failed to satisfy constraint: Member must " + what
          + " less than or equal to " + shape.max());
    }
  }

  private static void checkRange(Shape shape, long v, Where path, List<String> errors) {
    if (shape.min() != null && v < shape.min()) {
      errors.add("Value at '" + path + "' failed to satisfy constraint: Member must have value greater than or "
          + "equal to " + shape.min());
    }
    if (shape.max() != null && v > shape.max()) {
      errors.add("Value at '" + path + "' failed to satisfy constraint: Member must have value less than or equal to "
          + shape.max());
    }
  }

  private static <T> T expect(Object value, Class<T> type, Where path, String what) {
    if (!type.isInstance(value)) {
      String where = path.toString();
      throw serialization("Value at '" + (where.isEmpty() ? "request body" : where) + "' must be " + what);
    }
    return type.cast(value);
  }

  private static KmsException serialization(String message) {
    return new KmsException(ErrorCode.SERIALIZATION, message);
  }

  private static String lowerFirst(String s) {
    return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
  }
}
