package io.kmsgw.api.cloudtrail;

import io.kmsgw.audit.AuditLookup;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A LookupEvents request, read and checked as CloudTrail does (cloudtrail-service-2.json, LookupEventsRequest): a
 * value of the wrong JSON type is a SerializationException; a value of the right type that CloudTrail refuses gets
 * the operation's own exception (InvalidLookupAttributes, InvalidTimeRange, InvalidEventCategory, InvalidMaxResults).
 * Members the model does not know are ignored and JSON nulls count as absent, as the KMS API does. Values are never
 * echoed back in messages.
 *
 * @param filter the attribute and time range
 * @param insight whether EventCategory is {@code insight}
 * @param maxResults 1..50
 * @param nextToken the token as sent, or null
 */
record LookupEventsRequest(AuditLookup.Filter filter, boolean insight, int maxResults, String nextToken) {
  static final int MAX_RESULTS = 50;
  static final int MAX_VALUE_LENGTH = 2000;
  /** The latest time accepted (timestamps are epoch seconds; later ones are no time CloudTrail can hold). */
  static final Instant LATEST = Instant.parse("9999-12-31T23:59:59Z");

  static LookupEventsRequest parse(Map<String, Object> body) {
    AuditLookup.Attribute attribute = null;
    String value = null;
    List<?> attributes = typed(body, "LookupAttributes", List.class, "a list");
    if (attributes != null && !attributes.isEmpty()) {
      if (attributes.size() > 1) {
        // LookupAttributesList: "Currently the list can contain only one item."
        throw error(ErrorCode.INVALID_LOOKUP_ATTRIBUTES, "You can specify at most one lookup attribute; "
            + attributes.size() + " were given.");
      }
      if (!(attributes.get(0) instanceof Map<?, ?> one)) {
        throw serialization("LookupAttributes.1 is not a structure.");
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> a = (Map<String, Object>) one;
      String key = typed(a, "AttributeKey", String.class, "a string");
      value = typed(a, "AttributeValue", String.class, "a string");
      if (key == null || value == null) {
        throw error(ErrorCode.INVALID_LOOKUP_ATTRIBUTES, "A lookup attribute needs both AttributeKey and "
            + "AttributeValue.");
      }
      attribute = AuditLookup.Attribute.byAwsName(key);
      if (attribute == null) {
        throw error(ErrorCode.INVALID_LOOKUP_ATTRIBUTES, "AttributeKey must be one of EventId, EventName, "
            + "ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId.");
      }
      int length = valueLength(value);
      if (length < 1 || length > MAX_VALUE_LENGTH) {
        throw error(ErrorCode.INVALID_LOOKUP_ATTRIBUTES, "AttributeValue must be 1 to " + MAX_VALUE_LENGTH
            + " characters long ('_', ' ', ',' and newline count as two).");
      }
    }
    Instant start = time(body, "StartTime");
    Instant end = time(body, "EndTime");
    if (start != null && end != null && start.isAfter(end)) {
      throw error(ErrorCode.INVALID_TIME_RANGE, "StartTime is after EndTime.");
    }
    String category = typed(body, "EventCategory", String.class, "a string");
    if (category != null && !category.equals("insight")) {
      throw error(ErrorCode.INVALID_EVENT_CATEGORY, "EventCategory must be insight, or absent for management "
          + "events.");
    }
    int max = MAX_RESULTS;
    Number n = typed(body, "MaxResults", Number.class, "a number");
    if (n != null) {
      BigDecimal d = new BigDecimal(n.toString());
      if (d.stripTrailingZeros().scale() > 0) {
        throw serialization("MaxResults is not an integer.");
      }
      if (d.compareTo(BigDecimal.ONE) < 0 || d.compareTo(BigDecimal.valueOf(MAX_RESULTS)) > 0) {
        throw error(ErrorCode.INVALID_MAX_RESULTS, "MaxResults must be between 1 and " + MAX_RESULTS + ".");
      }
      max = d.intValue();
    }
    String token = typed(body, "NextToken", String.class, "a string");
    return new LookupEventsRequest(new AuditLookup.Filter(attribute, value, start, end), category != null, max,
        token);
  }

  /**
   * The length CloudTrail counts: LookupAttribute's AttributeValue, "The following characters ('_', ' ', ',',
   * '\n') count as two characters towards the 2000 character limit."
   */
  static int valueLength(String value) {
    int length = 0;
    for (int i = 0; i < value.length(); ) {
      int c = value.codePointAt(i);
      length += c == '_' || c == ' ' || c == ',' || c == '\n' ? 2 : 1;
      i += Character.charCount(c);
    }
    return length;
  }

  /** A timestamp of the JSON protocol: epoch seconds, with or without a fraction. */
  private static Instant time(Map<String, Object> body, String member) {
    Number n = typed(body, member, Number.class, "a number of seconds");
    if (n == null) {
      return null;
    }
    BigDecimal seconds = new BigDecimal(n.toString());
    if (seconds.signum() < 0 || seconds.compareTo(BigDecimal.valueOf(LATEST.getEpochSecond())) > 0) {
      throw error(ErrorCode.INVALID_TIME_RANGE, member + " is outside the range of possible times.");
    }
    return Instant.ofEpochMilli(seconds.movePointRight(3).longValue());
  }

  private static <T> T typed(Map<String, ?> body, String member, Class<T> type, String what) {
    Object v = body.get(member);
    if (v == null) {
      return null;
    }
    if (!type.isInstance(v)) {
      throw serialization(member + " is not " + what + ".");
    }
    return type.cast(v);
  }

  private static KmsException serialization(String message) {
    return new KmsException(ErrorCode.SERIALIZATION, message);
  }

  private static KmsException error(ErrorCode code, String message) {
    return new KmsException(code, message);
  }
}
