package io.kmsgw.policy;

import java.math.BigDecimal;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;

/**
 * One condition of a statement: an operator (with an optional {@code ForAnyValue:} / {@code ForAllValues:} set
 * qualifier and {@code IfExists} suffix), a key and the values it is compared with. Values are checked when the
 * policy is parsed, so evaluation never fails on them.
 *
 * <p>Semantics as IAM documents them: several values for one key match if any matches; a negated operator
 * ({@code StringNotEquals}, {@code NotIpAddress}, ...) matches when no value matches; a key absent from the request
 * makes a condition false, except a negated operator (true), {@code ...IfExists} (true), {@code ForAllValues:}
 * (true: all of nothing) and {@code Null}.
 */
public record Condition(Operator operator, Qualifier qualifier, boolean ifExists, String key, List<String> values) {

  /** Set qualifiers for multi-valued keys. */
  public enum Qualifier { NONE, FOR_ANY_VALUE, FOR_ALL_VALUES }

  /** The condition operators kmsgw supports: all of IAM's except the {@code Binary} one. */
  public enum Operator {
    STRING_EQUALS("StringEquals", Family.STRING, false),
    STRING_NOT_EQUALS("StringNotEquals", Family.STRING, true),
    STRING_EQUALS_IGNORE_CASE("StringEqualsIgnoreCase", Family.STRING_IGNORE_CASE, false),
    STRING_NOT_EQUALS_IGNORE_CASE("StringNotEqualsIgnoreCase", Family.STRING_IGNORE_CASE, true),
    STRING_LIKE("StringLike", Family.STRING_LIKE, false),
    STRING_NOT_LIKE("StringNotLike", Family.STRING_LIKE, true),
    NUMERIC_EQUALS("NumericEquals", Family.NUMERIC_EQ, false),
    NUMERIC_NOT_EQUALS("NumericNotEquals", Family.NUMERIC_EQ, true),
    NUMERIC_LESS_THAN("NumericLessThan", Family.NUMERIC_LT, false),
    NUMERIC_LESS_THAN_EQUALS("NumericLessThanEquals", Family.NUMERIC_LE, false),
    NUMERIC_GREATER_THAN("NumericGreaterThan", Family.NUMERIC_GT, false),
    NUMERIC_GREATER_THAN_EQUALS("NumericGreaterThanEquals", Family.NUMERIC_GE, false),
    DATE_EQUALS("DateEquals", Family.DATE_EQ, false),
    DATE_NOT_EQUALS("DateNotEquals", Family.DATE_EQ, true),
    DATE_LESS_THAN("DateLessThan", Family.DATE_LT, false),
    DATE_LESS_THAN_EQUALS("DateLessThanEquals", Family.DATE_LE, false),
    DATE_GREATER_THAN("DateGreaterThan", Family.DATE_GT, false),
    DATE_GREATER_THAN_EQUALS("DateGreaterThanEquals", Family.DATE_GE, false),
    BOOL("Bool", Family.BOOL, false),
    IP_ADDRESS("IpAddress", Family.IP, false),
    NOT_IP_ADDRESS("NotIpAddress", Family.IP, true),
    ARN_EQUALS("ArnEquals", Family.ARN, false),
    ARN_LIKE("ArnLike", Family.ARN, false),
    ARN_NOT_EQUALS("ArnNotEquals", Family.ARN, true),
    ARN_NOT_LIKE("ArnNotLike", Family.ARN, true),
    NULL("Null", Family.NULL, false);

    final String policyName;
    final Family family;
    final boolean negated;

    Operator(String policyName, Family family, boolean negated) {
      this.policyName = policyName;
      this.family = family;
      this.negated = negated;
    }

    public String policyName() {
      return policyName;
    }

    static Operator named(String name) {
      for (Operator o : values()) {
        if (o.policyName.equals(name)) {
          return o;
        }
      }
      return null;
    }

    /** Whether the operator applies to keys of this type (String operators apply to every key, as in IAM). */
    boolean accepts(ConditionKeys.Type type) {
      return switch (family) {
        case STRING, STRING_IGNORE_CASE, STRING_LIKE, NULL -> true;
        case NUMERIC_EQ, NUMERIC_LT, NUMERIC_LE, NUMERIC_GT, NUMERIC_GE -> type == ConditionKeys.Type.NUMERIC
            || type == ConditionKeys.Type.DATE;
        case DATE_EQ, DATE_LT, DATE_LE, DATE_GT, DATE_GE -> type == ConditionKeys.Type.DATE;
        case BOOL -> type == ConditionKeys.Type.BOOL;
        case IP -> type == ConditionKeys.Type.IP;
        case ARN -> type == ConditionKeys.Type.ARN || type == ConditionKeys.Type.STRING;
      };
    }
  }

  enum Family {
    STRING, STRING_IGNORE_CASE, STRING_LIKE, NUMERIC_EQ, NUMERIC_LT, NUMERIC_LE, NUMERIC_GT, NUMERIC_GE, DATE_EQ,
    DATE_LT, DATE_LE, DATE_GT, DATE_GE, BOOL, IP, ARN, NULL
  }

  public Condition {
    values = List.copyOf(values);
  }

  /** Checks a policy value for this operator; the message says what is wrong. */
  static String invalidValue(Operator op, String value) {
    return switch (op.family) {
      case NUMERIC_EQ, NUMERIC_LT, NUMERIC_LE, NUMERIC_GT, NUMERIC_GE -> number(value) == null ? "not a number" : null;
      case DATE_EQ, DATE_LT, DATE_LE, DATE_GT, DATE_GE -> date(value) == null
          ? "not a date (ISO 8601, such as 2026-01-31T00:00:00Z, or seconds since 1970)" : null;
      case BOOL, NULL -> value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false") ? null
          : "not true or false";
      case IP -> Cidr.parse(value) == null ? "not an IP address or CIDR block" : null;
      default -> null;
    };
  }

  /** Evaluates the condition on the request's values for its key ({@code null} or empty: absent). */
  public boolean matches(List<String> requestValues) {
    boolean absent = requestValues == null || requestValues.isEmpty();
    if (operator == Operator.NULL) {
      for (String v : values) {
        if (Boolean.parseBoolean(v.toLowerCase(Locale.ROOT)) == absent) {
          return true;
        }
      }
      return false;
    }
    if (absent) {
      if (ifExists || qualifier == Qualifier.FOR_ALL_VALUES) {
        return true;
      }
      return qualifier == Qualifier.NONE && operator.negated;
    }
    boolean all = qualifier == Qualifier.FOR_ALL_VALUES || (qualifier == Qualifier.NONE && operator.negated);
    for (String v : requestValues) {
      boolean one = operator.negated != anyPolicyValueMatches(v);
      if (all && !one) {
        return false;
      }
      if (!all && one) {
        return true;
      }
    }
    return all;
  }

  private boolean anyPolicyValueMatches(String requestValue) {
    for (String p : values) {
      if (compare(operator.family, p, requestValue)) {
        return true;
      }
    }
    return false;
  }

  private static boolean compare(Family family, String policyValue, String requestValue) {
    switch (family) {
      case STRING:
        return policyValue.equals(requestValue);
      case STRING_IGNORE_CASE:
        return policyValue.equalsIgnoreCase(requestValue);
      case STRING_LIKE:
        return Wildcards.matches(policyValue, requestValue, false);
      case ARN:
        return Wildcards.arnMatches(policyValue, requestValue);
      case BOOL:
        return policyValue.equalsIgnoreCase(requestValue);
      case IP: {
        Cidr cidr = Cidr.parse(policyValue);
        return cidr != null && cidr.contains(requestValue);
      }
      default:
        break;
    }
    int cmp;
    if (family.name().startsWith("NUMERIC")) {
      BigDecimal r = number(requestValue);
      if (r == null) {
        return false;
      }
      cmp = r.compareTo(number(policyValue));
    } else {
      Instant r = date(requestValue);
      if (r == null) {
        return false;
      }
      cmp = r.compareTo(date(policyValue));
    }
    return switch (family) {
      case NUMERIC_EQ, DATE_EQ -> cmp == 0;
      case NUMERIC_LT, DATE_LT -> cmp < 0;
      case NUMERIC_LE, DATE_LE -> cmp <= 0;
      case NUMERIC_GT, DATE_GT -> cmp > 0;
      case NUMERIC_GE, DATE_GE -> cmp >= 0;
      default -> false;
    };
  }

  static BigDecimal number(String s) {
    if (s.isEmpty() || s.length() > 40) {
      return null;
    }
    try {
      return new BigDecimal(s);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  static Instant date(String s) {
    if (s.isEmpty() || s.length() > 40) {
      return null;
    }
    BigDecimal seconds = number(s);
    if (seconds != null) {
      try {
        return Instant.ofEpochSecond(seconds.longValueExact());
      } catch (ArithmeticException | java.time.DateTimeException e) {
        return null;
      }
    }
    try {
      return OffsetDateTime.parse(s).toInstant();
    } catch (DateTimeParseException e) {
      try {
        return LocalDate.parse(s).atStartOfDay().toInstant(ZoneOffset.UTC);
      } catch (DateTimeParseException e2) {
        return null;
      }
    }
  }

  /** An IPv4 or IPv6 address block, parsed without any name lookup. */
  record Cidr(byte[] network, int prefix) {
    static Cidr parse(String s) {
      int slash = s.indexOf('/');
      String host = slash < 0 ? s : s.substring(0, slash);
      byte[] address = literal(host);
      if (address == null) {
        return null;
      }
      int prefix = address.length * 8;
      if (slash >= 0) {
        BigDecimal p = number(s.substring(slash + 1));
        if (p == null || p.scale() > 0 || p.signum() < 0 || p.intValue() > address.length * 8) {
          return null;
        }
        prefix = p.intValue();
      }
      return new Cidr(address, prefix);
    }

    boolean contains(String ip) {
      byte[] a = literal(ip);
      if (a == null || a.length != network.length) {
        return false;
      }
      for (int bit = 0; bit < prefix; bit++) {
        int mask = 0x80 >>> (bit % 8);
        if ((a[bit / 8] & mask) != (network[bit / 8] & mask)) {
          return false;
        }
      }
      return true;
    }

    /** The bytes of an IP literal; never a DNS lookup (a name is refused). */
    static byte[] literal(String s) {
      if (s.isEmpty() || s.length() > 45) {
        return null;
      }
      boolean v6 = s.indexOf(':') >= 0;
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        boolean ok = (c >= '0' && c <= '9') || c == '.' || (v6 && (c == ':' || (c >= 'a' && c <= 'f')
            || (c >= 'A' && c <= 'F')));
        if (!ok) {
          return null;
        }
      }
      if (!v6) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
          return null;
        }
        byte[] out = new byte[4];
        for (int i = 0; i < 4; i++) {
          if (parts[i].isEmpty() || parts[i].length() > 3) {
            return null;
          }
          int n = Integer.parseInt(parts[i]);
          if (n > 255) {
            return null;
          }
          out[i] = (byte) n;
        }
        return out;
      }
      char first = s.charAt(0);
      if (!(first == ':' || Character.digit(first, 16) >= 0)) {
        // InetAddress takes only a string starting with a hex digit or a colon as a literal; anything else (".:1")
        // would go to the resolver, on the event loop
        return null;
      }
      try {
        // starts with a hex digit or a colon and has a colon: parsed as an IPv6 literal or refused, never looked up
        return InetAddress.getByName(s).getAddress();
      } catch (UnknownHostException | SecurityException e) {
        return null;
      }
    }
  }
}
