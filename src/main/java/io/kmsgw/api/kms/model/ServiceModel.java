package io.kmsgw.api.kms.model;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The AWS KMS service model, read from the botocore {@code kms-service-2.json} shipped in the jar: the authority
 * on operation names, input and output shapes, enums and limits.
 */
public final class ServiceModel {
  /** One operation: its name and input/output shape names (null when it has none). */
  public record Operation(String name, String input, String output) {}

  private final String targetPrefix;
  private final Map<String, Operation> operations;
  private final Map<String, Shape> shapes;

  private ServiceModel(String targetPrefix, Map<String, Operation> operations, Map<String, Shape> shapes) {
    this.targetPrefix = targetPrefix;
    this.operations = operations;
    this.shapes = shapes;
  }

  /** Loads the KMS model from the class path. */
  public static ServiceModel kms() {
    return load("/model/kms-service-2.json");
  }

  static ServiceModel load(String resource) {
    JsonObject json;
    try (InputStream in = ServiceModel.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("service model missing from the build: " + resource);
      }
      json = new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the service model " + resource, e);
    }
    String prefix = json.getJsonObject("metadata").getString("targetPrefix");
    Map<String, Operation> ops = new LinkedHashMap<>();
    JsonObject operations = json.getJsonObject("operations");
    for (String name : operations.fieldNames()) {
      JsonObject op = operations.getJsonObject(name);
      ops.put(name, new Operation(name, shapeRef(op.getJsonObject("input")), shapeRef(op.getJsonObject("output"))));
    }
    Map<String, Shape> shapes = new HashMap<>();
    JsonObject s = json.getJsonObject("shapes");
    for (String name : s.fieldNames()) {
      shapes.put(name, shape(name, s.getJsonObject(name)));
    }
    return new ServiceModel(prefix, Collections.unmodifiableMap(ops), Collections.unmodifiableMap(shapes));
  }

  private static String shapeRef(JsonObject ref) {
    return ref == null ? null : ref.getString("shape");
  }

  private static Shape shape(String name, JsonObject j) {
    Map<String, String> members = new LinkedHashMap<>();
    JsonObject m = j.getJsonObject("members");
    if (m != null) {
      for (String member : m.fieldNames()) {
        members.put(member, m.getJsonObject(member).getString("shape"));
      }
    }
    Set<String> required = new LinkedHashSet<>();
    JsonArray req = j.getJsonArray("required");
    if (req != null) {
      req.forEach(r -> required.add((String) r));
    }
    Set<String> enums = null;
    JsonArray e = j.getJsonArray("enum");
    if (e != null) {
      enums = new LinkedHashSet<>();
      for (Object v : e) {
        enums.add((String) v);
      }
    }
    String pattern = j.getString("pattern");
    Number min = j.getNumber("min");
    Number max = j.getNumber("max");
    return new Shape(name, j.getString("type"), min == null ? null : min.longValue(),
        max == null ? null : max.longValue(), enums == null ? null : Collections.unmodifiableSet(enums),
        pattern == null ? null : Pattern.compile(pattern), Collections.unmodifiableMap(members),
        Collections.unmodifiableSet(required), shapeRef(j.getJsonObject("member")), shapeRef(j.getJsonObject("key")),
        shapeRef(j.getJsonObject("value")), Boolean.TRUE.equals(j.getBoolean("sensitive")));
  }

  public String targetPrefix() {
    return targetPrefix;
  }

  public Optional<Operation> operation(String name) {
    return Optional.ofNullable(operations.get(name));
  }

  public Map<String, Operation> operations() {
    return operations;
  }

  public Shape shape(String name) {
    Shape s = shapes.get(name);
    if (s == null) {
      throw new IllegalArgumentException("no shape " + name + " in the model");
    }
    return s;
  }
}
