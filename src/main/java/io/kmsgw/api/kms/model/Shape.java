package io.kmsgw.api.kms.model;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One shape of the service model ({@code kms-service-2.json}): its type and the constraints the API enforces.
 *
 * @param members structure members: member name to shape name, in model order
 * @param member list element shape name
 * @param key map key shape name
 * @param value map value shape name
 */
public record Shape(
    String name,
    String type,
    Long min,
    Long max,
    Set<String> enumValues,
    Pattern pattern,
    Map<String, String> members,
    Set<String> required,
    String member,
    String key,
    String value,
    boolean sensitive) {

  public static final List<String> TYPES =
      List.of("structure", "list", "map", "string", "blob", "integer", "long", "boolean", "timestamp", "double");
}
