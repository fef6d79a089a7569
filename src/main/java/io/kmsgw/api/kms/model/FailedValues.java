package io.kmsgw.api.kms.model;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * What the audit trail keeps of a request member that failed validation: not the value (a careless client's
 * plaintext put in {@code KeyId} must not land on disk) but
 * {@code {"failedValidation":true,"type":"string","bytes":N,"hmacSha256":"<base64>"}}. The HMAC key is random per
 * process and never leaves it, so two refusals of one value can be told apart from others within one run, but
 * a value cannot be guessed offline from the trail (a plain hash of a short secret could be).
 */
public final class FailedValues {
  private static final byte[] KEY = new byte[32];

  static {
    new SecureRandom().nextBytes(KEY);
  }

  private FailedValues() {}

  /**
   * A copy of a parsed request with every value (and map key) in {@code failed}, compared by identity, replaced
   * by its marker. Other values are kept, so the audit record still shows which operation and which key.
   */
  public static Map<String, Object> redact(Map<String, Object> request, Set<Object> failed) {
    @SuppressWarnings("unchecked")
    Map<String, Object> out = (Map<String, Object>) copy(request, failed);
    return out;
  }

  /**
   * A copy with every value replaced by its marker, for a refusal that does not say which member failed (the
   * IAM and STS checks); the parameter names stay.
   */
  public static Map<String, Object> redactAll(Map<String, Object> request) {
    Map<String, Object> out = new LinkedHashMap<>();
    request.forEach((k, v) -> out.put(k, v == null ? null : marker(v)));
    return out;
  }

  private static Object copy(Object v, Set<Object> failed) {
    if (v != null && failed.contains(v)) {
      return marker(v);
    }
    if (v instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        String k = (String) e.getKey();
        // a map key (a tag key, a context key) that failed cannot become an object: its marker as one string
        String key = failed.contains(k) ? "failedValidation:bytes=" + utf8(k).length + ":hmacSha256=" + hmac(utf8(k))
            : k;
        out.put(key, copy(e.getValue(), failed));
      }
      return out;
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>(l.size());
      for (Object x : l) {
        out.add(copy(x, failed));
      }
      return out;
    }
    return v;
  }

  /** The marker for one value. */
  public static Map<String, Object> marker(Object value) {
    String type = value instanceof String ? "string" : value instanceof Number ? "number"
        : value instanceof Boolean ? "boolean" : value instanceof Map ? "object" : value instanceof List ? "array"
        : "other";
    byte[] bytes = utf8(String.valueOf(value));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("failedValidation", true);
    m.put("type", type);
    m.put("bytes", bytes.length);
    m.put("hmacSha256", hmac(bytes));
    return m;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String hmac(byte[] data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(KEY, "HmacSHA256"));
      return Base64.getEncoder().encodeToString(mac.doFinal(data));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }
}
