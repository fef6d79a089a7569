package io.kmsgw.audit;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.logging.Logger;
import java.util.regex.Matcher;

/**
 * CloudTrail's LookupEvents over the audit directory: the events that match one attribute and a time range, newest
 * first, a page at a time. Blocking file I/O: run it on a worker, never on an event loop.
 *
 * <p><b>Order.</b> Newest first means in the reverse of the trail's own order (seq), which is the order the events
 * were written; their {@code eventTime} (taken when the request began, to the second) follows it up to the time a
 * request takes. Paging continues from a {@link Position} in the trail, so pages have neither gaps nor duplicates,
 * even while new events are being written.
 *
 * <p><b>What is read.</b> Only event lines (not file headers or digests); only complete lines (a line still being
 * written has no {@code \n} yet); only lines whose seq the {@link AuditLog} has reported durable (fsynced), so a
 * lookup never shows an event that a crash could still take back.
 *
 * <p><b>Cost.</b> A scan from the newest line backwards that stops once a page is full: linear in the volume of
 * the trail between now and the last event returned. A file whose first event is later than EndTime (plus
 * {@link #SKEW}) is skipped after reading its first lines, and the scan stops at the first event older than
 * StartTime (less {@link #SKEW}): both assume, as the writer guarantees, that every event's time comes from one
 * clock and precedes the writing of its line by less than {@link #SKEW}. A line is parsed only when it contains the
 * attribute value as text. One call reads at most {@link #SCAN_BUDGET_BYTES}; past that it
 * returns what it found with a position to continue from (as CloudTrail may return a short page with a NextToken).
 */
public final class AuditLookup {
  private static final Logger LOG = Logger.getLogger(AuditLookup.class.getName());

  /**
   * How long before its line is written an event's time may be (the time is taken when its request begins, the line
   * is written when it ends). Bounds the file skipping and the early stop; generous, as it costs only some reading.
   */
  static final Duration SKEW = Duration.ofHours(1);

  /** How many lines at the head of a file are read for its first event. */
  private static final int HEAD_LINES = 8;

  /** Bytes of the trail one call reads at most before it returns a short page and a position to continue from. */
  public static final long SCAN_BUDGET_BYTES = 32L << 20;

  /** CloudTrail's lookup attributes (LookupAttributeKey). */
  public enum Attribute {
    EVENT_ID("EventId"),
    EVENT_NAME("EventName"),
    READ_ONLY("ReadOnly"),
    USERNAME("Username"),
    RESOURCE_TYPE("ResourceType"),
    RESOURCE_NAME("ResourceName"),
    EVENT_SOURCE("EventSource"),
    ACCESS_KEY_ID("AccessKeyId");

    public final String awsName;

    Attribute(String awsName) {
      this.awsName = awsName;
    }

    /** The attribute of a LookupAttributeKey value, or null. */
    public static Attribute byAwsName(String name) {
      for (Attribute a : values()) {
        if (a.awsName.equals(name)) {
          return a;
        }
      }
      return null;
    }
  }

  /**
   * What to look for; any part may be null (no attribute: every event; no start or end: unbounded).
   *
   * @param start events at or after this time
   * @param end events at or before this time
   */
  public record Filter(Attribute attribute, String value, Instant start, Instant end) {
    public Filter {
      if ((attribute == null) != (value == null)) {
        throw new IllegalArgumentException("an attribute comes with a value");
      }
    }

    public static final Filter ALL = new Filter(null, null, null, null);
  }

  /** Where a page ended: the next page has the events before the line at {@code offset} of {@code file}. */
  public record Position(String file, long offset) {}

  /** The page: events newest first, and where to continue, or null when nothing older is left. */
  public record Page(List<Found> events, Position next) {}

  /** A position that names no line boundary of the audit files. */
  public static final class InvalidPosition extends Exception {
    InvalidPosition(String message) {
      super(message, null, false, false);
    }
  }

  /** One event found: its line's seq, the event as parsed, and the event's JSON exactly as the trail holds it. */
  public record Found(long seq, JsonObject event, String json) {
    public String eventId() {
      return text(event, "eventID");
    }

    public String eventName() {
      return text(event, "eventName");
    }

    public String eventSource() {
      return text(event, "eventSource");
    }

    /** {@code "true"} or {@code "false"}, as LookupEvents gives it. */
    public String readOnly() {
      return event.getValue("readOnly") instanceof Boolean b ? b.toString() : null;
    }

    public String accessKeyId() {
      return text(identity(), "accessKeyId");
    }

    /** The event's time, or null when it has none that parses. */
    public Instant eventTime() {
      String t = text(event, "eventTime");
      try {
        return t == null ? null : Instant.parse(t);
      } catch (DateTimeParseException e) {
        return null;
      }
    }

    /**
     * CloudTrail's user name for an event: an IAM user's name; {@code root} for an account root; the session name
     * for an assumed role; none for the service's own events and unknown callers.
     */
    public String username() {
      JsonObject u = identity();
      String type = text(u, "type");
      String arn = text(u, "arn");
      if (type == null) {
        return null;
      }
      return switch (type) {
        case "Root" -> "root";
        case "IAMUser" -> text(u, "userName") != null ? text(u, "userName") : lastSegment(arn);
        // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
        case "AssumedRole" -> arn != null && arn.contains(":assumed-role/") ? lastSegment(arn) : null;
        default -> null;
      };
    }

    /** The resources as (type, name) pairs: {@code AWS::KMS::Key} and the key ARN. */
    public List<String[]> resources() {
      List<String[]> out = new ArrayList<>();
      if (event.getValue("resources") instanceof JsonArray a) {
        for (Object o : a) {
          if (o instanceof JsonObject r) {
            out.add(new String[] {text(r, "type"), text(r, "ARN")});
          }
        }
      }
      return out;
    }

    private JsonObject identity() {
      return event.getValue("userIdentity") instanceof JsonObject j ? j : null;
    }

    boolean matches(Attribute a, String value) {
      return switch (a) {
        case EVENT_ID -> value.equals(eventId());
        case EVENT_NAME -> value.equals(eventName());
        case READ_ONLY -> value.equals(readOnly());
        case USERNAME -> value.equals(username());
        case RESOURCE_TYPE -> resources().stream().anyMatch(r -> value.equals(r[0]));
        case RESOURCE_NAME -> resources().stream().anyMatch(r -> value.equals(r[1]));
        case EVENT_SOURCE -> value.equals(eventSource());
        case ACCESS_KEY_ID -> value.equals(accessKeyId());
      };
    }

    private static String text(JsonObject o, String member) {
      return o != null && o.getValue(member) instanceof String s ? s : null;
    }

    private static String lastSegment(String arn) {
      return arn == null || arn.indexOf('/') < 0 ? null : arn.substring(arn.lastIndexOf('/') + 1);
    }
  }

  private final Path dir;
  private final LongSupplier durableSeq;

  /**
   * @param dir the audit directory
   * @param durableSeq the highest seq known to be fsynced ({@code AuditLog.stats().lastSeq()} of the running trail;
   *     {@code Long.MAX_VALUE} for a trail no one writes)
   */
  public AuditLookup(Path dir, LongSupplier durableSeq) {
    this.dir = dir;
    this.durableSeq = durableSeq;
  }

  /** The trail of a running {@link AuditLog}. */
  public static AuditLookup of(AuditLog log) {
    return new AuditLookup(log.dir(), () -> log.stats().lastSeq());
  }

  /**
   * Up to {@code max} events matching the filter, newest first, before {@code from} (or from the newest).
   *
   * @throws InvalidPosition when {@code from} is not the start of a line in an audit file
   */
  public Page lookup(Filter filter, Position from, int max) throws IOException, InvalidPosition {
    return lookup(filter, from, max, SCAN_BUDGET_BYTES);
  }

  Page lookup(Filter filter, Position from, int max, long budgetBytes) throws IOException, InvalidPosition {
    if (max < 1) {
      throw new IllegalArgumentException("max must be positive");
    }
    long durable = durableSeq.getAsLong();
    List<AuditFiles.Entry> files = AuditFiles.list(dir);
    int i = files.size() - 1;
    long end = -1;
    if (from != null) {
      AuditFiles.Entry named = entry(from.file());
      i = -1;
      for (int k = files.size() - 1; k >= 0; k--) {
        int order = AuditFiles.ORDER.compare(files.get(k), named);
        if (order == 0) {
          i = k;
          end = from.offset();
          break;
        }
        if (order < 0) {
          // the file is gone (retention): the ones before it
          i = k;
          break;
        }
      }
    }
    String needle = needle(filter);
    List<Found> out = new ArrayList<>();
    long budget = budgetBytes;
    for (; i >= 0; i--, end = -1) {
      AuditFiles.Entry file = files.get(i);
      if (filter.end() != null && end < 0 && startsAfter(file, filter.end().plus(SKEW))) {
        // its first event is newer than EndTime, and so is every later one
        continue;
      }
      try (ReverseLines lines = open(file, end)) {
        ReverseLines.Line line;
        while ((line = lines.next()) != null) {
          budget -= line.bytes();
          Found found = needle == null || line.text().contains(needle) ? event(line.text(), durable) : null;
          if (found != null) {
            Instant t = found.eventTime();
            if (filter.start() != null && t != null && t.plus(SKEW).isBefore(filter.start())) {
              // every line before this one was written before it, so its event is older than StartTime too
              return new Page(out, null);
            }
            if (matches(found, t, filter)) {
              out.add(found);
              if (out.size() == max) {
                return new Page(out, new Position(file.name(), line.offset()));
              }
            }
          }
          if (budget <= 0) {
            return new Page(out, new Position(file.name(), line.offset()));
          }
        }
      }
    }
    return new Page(out, null);
  }

  private static ReverseLines open(AuditFiles.Entry file, long end) throws IOException, InvalidPosition {
    try {
      // a file changed by hand can hold a line of any length: refused (an IOException), not read into memory
      return new ReverseLines(file.path(), end, AuditVerifier.MAX_LINE);
    } catch (IllegalArgumentException e) {
      throw new InvalidPosition("no line of " + file.name() + " starts at " + end);
    }
  }

  private static AuditFiles.Entry entry(String name) throws InvalidPosition {
    Matcher m = name == null ? null : AuditFiles.NAME.matcher(name);
    if (m == null || !m.matches()) {
      throw new InvalidPosition("not an audit file name");
    }
    try {
      return new AuditFiles.Entry(Path.of(name), LocalDate.parse(m.group(1),
          java.time.format.DateTimeFormatter.BASIC_ISO_DATE), Integer.parseInt(m.group(2)));
    } catch (DateTimeParseException | NumberFormatException e) {
      throw new InvalidPosition("not an audit file name");
    }
  }

  private static boolean matches(Found f, Instant t, Filter filter) {
    if (filter.start() != null && (t == null || t.isBefore(filter.start()))) {
      return false;
    }
    if (filter.end() != null && (t == null || t.isAfter(filter.end()))) {
      return false;
    }
    return filter.attribute() == null || f.matches(filter.attribute(), filter.value());
  }

  /**
   * Text every matching line contains, to skip the others without parsing them: the value as the trail's JSON
   * encoder writes it (a user name is part of the caller's ARN, {@code root} of a root's ARN).
   */
  private static String needle(Filter filter) {
    if (filter.attribute() == null) {
      return null;
    }
    if (filter.attribute() == Attribute.READ_ONLY) {
      return "\"readOnly\":" + filter.value();
    }
    String quoted = Json.encode(filter.value());
    return quoted.substring(1, quoted.length() - 1);
  }

  /** The event of an event line that is durable, or null (a file header, a digest, a damaged line, a later one). */
  private static Found event(String line, long durable) {
    long seq = AuditRecords.quickSeq(line);
    if (seq < 0 || seq > durable) {
      return null;
    }
    // the chain prefix ends with the hex prev, then "},
    int p = line.indexOf("\"},");
    String mark = "\"event\":";
    if (p < 0 || !line.startsWith(mark, p + 3) || !line.endsWith("}")) {
      return null;
    }
    String json = line.substring(p + 3 + mark.length(), line.length() - 1);
    try {
      return new Found(seq, new JsonObject(json), json);
    } catch (DecodeException | ClassCastException e) {
      LOG.warning(() -> "audit lookup: the event of seq " + seq + " cannot be read; check the trail with "
          + "kmsgw audit verify");
      return null;
    }
  }

  /** Whether the first event of a file is after the instant (false when it has none that can be read). */
  private static boolean startsAfter(AuditFiles.Entry file, Instant instant) throws IOException {
    try (BufferedReader r = Files.newBufferedReader(file.path(), StandardCharsets.UTF_8)) {
      // the header, then events (a digest may come first when the file was started by a restart)
      for (int n = 0; n < HEAD_LINES; n++) {
        String line = r.readLine();
        if (line == null) {
          return false;
        }
        Found f = event(line, Long.MAX_VALUE);
        if (f != null) {
          Instant t = f.eventTime();
          return t != null && t.isAfter(instant);
        }
      }
    } catch (java.nio.charset.MalformedInputException e) {
      return false;
    }
    return false;
  }
}
