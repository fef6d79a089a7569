package io.kmsgw.policy;

import io.kmsgw.format.StrictJson;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses and validates a policy document against IAM's grammar (Version, Id, Statement: Sid, Effect,
 * Principal/NotPrincipal, Action/NotAction, Resource/NotResource, Condition). Anything kmsgw cannot evaluate exactly
 * (an unknown condition key or operator, a policy variable, a federated principal) is refused with a message that
 * names the place, never ignored: a policy must mean here what it means in AWS, or not be accepted.
 */
public final class PolicyParser {
  /** Which kind of policy: it decides whether Principal and Resource are required or forbidden. */
  public enum Kind {
    /** A key policy: Principal required, Resource required. */
    KEY,
    /** An IAM identity policy (user or role inline policy): no Principal, Resource required. */
    IDENTITY,
    /** A role's trust policy: Principal required, no Resource. */
    TRUST
  }

  private static final Set<String> TOP = Set.of("Version", "Id", "Statement");
  private static final Set<String> STATEMENT = Set.of("Sid", "Effect", "Principal", "NotPrincipal", "Action",
      "NotAction", "Resource", "NotResource", "Condition");

  private PolicyParser() {}

  /** A member name for a message, cut short: names come from the document, which may be hostile. */
  private static String name(String n) {
    return n.length() <= 64 ? n : n.substring(0, 64) + "...";
  }

  public static PolicyDocument parse(String document, Kind kind) {
    if (document == null || document.isBlank()) {
      throw new PolicyException("the policy document is empty");
    }
    if (document.contains("${")) {
      throw new PolicyException("policy variables (${...}) are not supported");
    }
    Map<String, Object> top;
    try {
      top = StrictJson.parseObject(document.getBytes(StandardCharsets.UTF_8));
    } catch (StrictJson.MalformedJson e) {
      throw new PolicyException("the policy document is not acceptable JSON: " + e.getMessage());
    }
    for (String k : top.keySet()) {
      if (!TOP.contains(k)) {
        throw new PolicyException("unknown policy element '" + name(k) + "' (expected Version, Id, Statement)");
      }
    }
    Object version = top.get("Version");
    if (version != null && !"2012-10-17".equals(version) && !"2008-10-17".equals(version)) {
      throw new PolicyException("Version must be 2012-10-17 or 2008-10-17");
    }
    if (top.containsKey("Id") && !(top.get("Id") instanceof String)) {
      throw new PolicyException("Id must be a string");
    }
    Object raw = top.get("Statement");
    List<Object> list;
    if (raw instanceof Map) {
      list = List.of(raw);
    } else if (raw instanceof List<?> l && !l.isEmpty()) {
      list = new ArrayList<>(l);
    } else {
      throw new PolicyException("Statement must be an object or a non-empty array of objects");
    }
    List<PolicyDocument.Statement> statements = new ArrayList<>();
    Set<String> sids = new LinkedHashSet<>();
    for (int i = 0; i < list.size(); i++) {
      String where = "Statement[" + i + "]";
      if (!(list.get(i) instanceof Map<?, ?> m)) {
        throw new PolicyException(where + " must be an object");
      }
      PolicyDocument.Statement s = statement(cast(m), kind, where);
      if (s.sid() != null && !sids.add(s.sid())) {
        throw new PolicyException(where + ".Sid is the Sid of an earlier statement too");
      }
      statements.add(s);
    }
    return new PolicyDocument(version == null ? "2008-10-17" : (String) version, statements, document);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> cast(Map<?, ?> m) {
    return (Map<String, Object>) m;
  }

  private static PolicyDocument.Statement statement(Map<String, Object> m, Kind kind, String where) {
    for (String k : m.keySet()) {
      if (!STATEMENT.contains(k)) {
        throw new PolicyException(where + ": unknown element '" + name(k) + "'");
      }
    }
    Object sid = m.get("Sid");
    // IAM policies allow only letters and digits in a Sid; key policies (and trust policies) also allow spaces and
    // punctuation, as AWS's own default key policy ("Enable IAM User Permissions") shows
    if (sid != null && !(sid instanceof String)) {
      throw new PolicyException(where + ".Sid: must be a string");
    }
    if (sid != null && kind == Kind.IDENTITY && !((String) sid).chars().allMatch(Character::isLetterOrDigit)) {
      throw new PolicyException(where + ".Sid: letters and digits only in an IAM policy");
    }
    Object effect = m.get("Effect");
    if (!"Allow".equals(effect) && !"Deny".equals(effect)) {
      throw new PolicyException(where + ".Effect must be Allow or Deny");
    }
    boolean hasPrincipal = m.containsKey("Principal");
    boolean hasNotPrincipal = m.containsKey("NotPrincipal");
    if (kind == Kind.IDENTITY && (hasPrincipal || hasNotPrincipal)) {
      throw new PolicyException(where + ": an identity-based policy cannot name a Principal");
    }
    if (kind != Kind.IDENTITY && hasPrincipal == hasNotPrincipal) {
      throw new PolicyException(where + ": exactly one of Principal or NotPrincipal is required");
    }
    if (hasNotPrincipal && "Allow".equals(effect)) {
      throw new PolicyException(where + ": NotPrincipal is allowed only with Effect Deny");
    }
    PolicyDocument.Principals principal = hasPrincipal ? principals(m.get("Principal"), where + ".Principal") : null;
    PolicyDocument.Principals notPrincipal = hasNotPrincipal
        ? principals(m.get("NotPrincipal"), where + ".NotPrincipal") : null;

    boolean hasAction = m.containsKey("Action");
    if (hasAction == m.containsKey("NotAction")) {
      throw new PolicyException(where + ": exactly one of Action or NotAction is required");
    }
    String actionName = hasAction ? "Action" : "NotAction";
    List<String> actions = strings(m.get(actionName), where + "." + actionName);
    for (int j = 0; j < actions.size(); j++) {
      String a = actions.get(j);
      if (!a.equals("*") && !a.matches("[A-Za-z0-9-]+:[A-Za-z0-9*?]+")) {
        throw new PolicyException(where + "." + actionName + "[" + j + "] is not service:action (such as kms:Encrypt)");
      }
    }

    boolean hasResource = m.containsKey("Resource");
    boolean hasNotResource = m.containsKey("NotResource");
    if (hasResource && hasNotResource) {
      throw new PolicyException(where + ": Resource and NotResource cannot both be given");
    }
    if (kind != Kind.TRUST && !hasResource && !hasNotResource) {
      throw new PolicyException(where + ": Resource (or NotResource) is required");
    }
    List<String> resources = null;
    if (hasResource || hasNotResource) {
      String name = hasResource ? "Resource" : "NotResource";
      resources = strings(m.get(name), where + "." + name);
      for (int j = 0; j < resources.size(); j++) {
        String r = resources.get(j);
        if (!r.equals("*") && !r.startsWith("arn:")) {
          throw new PolicyException(where + "." + name + "[" + j + "] is neither * nor an ARN");
        }
      }
    }
    List<Condition> conditions = m.containsKey("Condition") ? conditions(m.get("Condition"), where + ".Condition")
        : List.of();
    return new PolicyDocument.Statement((String) sid, "Allow".equals(effect), principal, notPrincipal, actions,
        !hasAction, resources, hasNotResource, conditions);
  }

  private static PolicyDocument.Principals principals(Object value, String where) {
    if ("*".equals(value)) {
      return new PolicyDocument.Principals(true, Set.of(), Set.of());
    }
    if (!(value instanceof Map<?, ?> map) || map.isEmpty()) {
      throw new PolicyException(where + " must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::111122223333:root\"}");
    }
    boolean anyone = false;
    Set<String> aws = new LinkedHashSet<>();
    Set<String> services = new LinkedHashSet<>();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      String type = String.valueOf(e.getKey());
      List<String> ids = strings(e.getValue(), where + "." + type);
      switch (type) {
        case "AWS" -> {
          for (String id : ids) {
            if (id.equals("*")) {
              anyone = true;
            } else {
              aws.add(awsPrincipal(id, where + ".AWS"));
            }
          }
        }
        case "Service" -> {
          for (String id : ids) {
            if (!id.matches("[a-z0-9.-]+\\.amazonaws\\.com")) {
              throw new PolicyException(where + ".Service: a service principal has the form name.amazonaws.com");
            }
            services.add(id);
          }
        }
        default -> throw new PolicyException(where + ": principals of type '" + name(type)
            + "' are not supported (AWS and Service are)");
      }
    }
    return new PolicyDocument.Principals(anyone, aws, services);
  }

  /** An AWS principal as a normalised ARN: a bare account id becomes its root ARN. */
  private static String awsPrincipal(String id, String where) {
    if (id.matches("\\d{12}")) {
      return Principal.rootArn(id);
    }
    if (Wildcards.hasWildcard(id)) {
      throw new PolicyException(where + ": wildcards are allowed only as \"*\" alone");
    }
    if (id.matches("arn:aws:iam::\\d{12}:(root|user/[\\w+=,.@/-]+|role/[\\w+=,.@/-]+)")
        || id.matches("arn:aws:sts::\\d{12}:assumed-role/[\\w+=,.@-]+/[\\w+=,.@-]+")) {
      return id;
    }
    throw new PolicyException(where + ": each must be an account id or the ARN of an account root, user, role or "
        + "role session");
  }

  private static List<String> strings(Object value, String where) {
    List<Object> raw;
    if (value instanceof List<?> l) {
      raw = new ArrayList<>(l);
    } else {
      raw = new ArrayList<>();
      raw.add(value);
    }
    if (raw.isEmpty()) {
      throw new PolicyException(where + " must not be empty");
    }
    List<String> out = new ArrayList<>();
    for (Object o : raw) {
      if (!(o instanceof String s) || s.isEmpty()) {
        throw new PolicyException(where + " must be a non-empty string or an array of them");
      }
      out.add(s);
    }
    return out;
  }

  private static List<Condition> conditions(Object value, String where) {
    if (!(value instanceof Map<?, ?> ops) || ops.isEmpty()) {
      throw new PolicyException(where + " must be an object of condition operators");
    }
    List<Condition> out = new ArrayList<>();
    for (Map.Entry<?, ?> op : ops.entrySet()) {
      String name = String.valueOf(op.getKey());
      String at = where + "." + name;
      Condition.Qualifier qualifier = Condition.Qualifier.NONE;
      String base = name;
      if (base.startsWith("ForAnyValue:")) {
        qualifier = Condition.Qualifier.FOR_ANY_VALUE;
        base = base.substring("ForAnyValue:".length());
      } else if (base.startsWith("ForAllValues:")) {
        qualifier = Condition.Qualifier.FOR_ALL_VALUES;
        base = base.substring("ForAllValues:".length());
      }
      boolean ifExists = base.endsWith("IfExists");
      if (ifExists) {
        base = base.substring(0, base.length() - "IfExists".length());
      }
      Condition.Operator operator = Condition.Operator.named(base);
      if (operator == null) {
        throw new PolicyException(at + ": unknown or unsupported condition operator");
      }
      if (operator == Condition.Operator.NULL && (ifExists || qualifier != Condition.Qualifier.NONE)) {
        throw new PolicyException(at + ": Null takes neither IfExists nor a set qualifier");
      }
      if (!(op.getValue() instanceof Map<?, ?> keys) || keys.isEmpty()) {
        throw new PolicyException(at + " must be an object of condition keys");
      }
      for (Map.Entry<?, ?> k : keys.entrySet()) {
        String keyName = String.valueOf(k.getKey());
        ConditionKeys.Key key = ConditionKeys.find(keyName).orElseThrow(() -> new PolicyException(at
            + ": condition key '" + name(keyName) + "' is not supported (docs/policies.md lists the supported keys)"));
        if (!operator.accepts(key.type())) {
          throw new PolicyException(at + ": " + operator.policyName() + " does not apply to " + keyName);
        }
        if (qualifier != Condition.Qualifier.NONE && !key.multiValued()) {
          throw new PolicyException(at + ": " + keyName + " is single-valued; ForAnyValue/ForAllValues apply to "
              + "multi-valued keys");
        }
        List<String> values = new ArrayList<>();
        List<Object> raw = k.getValue() instanceof List<?> l ? new ArrayList<>(l) : java.util.Collections.singletonList(
            k.getValue());
        if (raw.isEmpty()) {
          throw new PolicyException(at + "." + keyName + " must have at least one value");
        }
        for (Object v : raw) {
          if (!(v instanceof String || v instanceof Number || v instanceof Boolean)) {
            throw new PolicyException(at + "." + keyName + ": values must be strings, numbers or booleans");
          }
          String text = v instanceof java.math.BigDecimal d ? d.toPlainString() : String.valueOf(v);
          String problem = Condition.invalidValue(operator, text);
          if (problem != null) {
            throw new PolicyException(at + "." + keyName + "[" + values.size() + "] is " + problem);
          }
          values.add(text);
        }
        out.add(new Condition(operator, qualifier, ifExists, key.name(), values));
      }
    }
    return out;
  }
}
