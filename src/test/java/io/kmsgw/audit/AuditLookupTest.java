package io.kmsgw.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.audit.AuditLookup.Attribute;
import io.kmsgw.audit.AuditLookup.Filter;
import io.kmsgw.audit.AuditLookup.Found;
import io.kmsgw.audit.AuditLookup.Page;
import io.kmsgw.audit.AuditLookup.Position;
import io.kmsgw.domain.Caller;
import io.kmsgw.testing.MutableClock;
import io.kmsgw.testing.TestToken;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class AuditLookupTest {
  static final String ACCOUNT = "111122223333";
  static final String KEY_A = "arn:aws:kms:us-east-1:" + ACCOUNT + ":key/aaaaaaaa-1111-2222-3333-444444444444";
  static final String KEY_B = "arn:aws:kms:us-east-1:" + ACCOUNT + ":key/bbbbbbbb-1111-2222-3333-444444444444";
  static final Caller ALICE = new Caller("arn:aws:iam::" + ACCOUNT + ":user/alice", ACCOUNT, "AIDAALICE",
      "AKIAALICE", "IAMUser");
  static final Caller ROOT = new Caller("arn:aws:iam::" + ACCOUNT + ":root", ACCOUNT, ACCOUNT, "AKIAROOT", "Root");
  static final Caller SESSION = new Caller("arn:aws:sts::" + ACCOUNT + ":assumed-role/app/batch_7", ACCOUNT,
      "AROAAPP:batch_7", "ASIASESSION", "AssumedRole");
  static final Instant T0 = Instant.parse("2025-03-01T10:00:00Z");

  private final SoftwareSigner signer = new SoftwareSigner();

  /** One event of each kind, a minute apart from T0: ids e0..e5. */
  static List<JsonObject> mixed() {
    return List.of(
        call("e0", "CreateKey", ROOT, KEY_A, 0),
        call("e1", "Encrypt", ALICE, KEY_A, 1),
        call("e2", "Decrypt", ALICE, KEY_A, 2),
        call("e3", "Decrypt", SESSION, KEY_B, 3),
        AuditEvent.serviceEvent("RotateKey").eventId("e4").time(T0.plus(4, ChronoUnit.MINUTES))
            .region("us-east-1").recipientAccountId(ACCOUNT).key(KEY_B).build(),
        call("e5", "ListKeys", ALICE, null, 5));
  }

  static JsonObject call(String id, String name, Caller caller, String key, int minute) {
    AuditEvent.Builder b = AuditEvent.apiCall(name).eventId(id).time(T0.plus(minute, ChronoUnit.MINUTES))
        .caller(caller).region("us-east-1").sourceIp("127.0.0.1").userAgent("test")
        .requestParameters(new JsonObject().put("KeyId", key)
            .put("EncryptionContext", new JsonObject().put("purpose", "lookup test")));
    if (key != null) {
      b.key(key);
    }
    return b.build();
  }

  static AuditLog.Settings settings(Path dir, long maxFileBytes) {
    return new AuditLog.Settings(dir, maxFileBytes, 0, 1000, Duration.ofSeconds(60), ACCOUNT, "us-east-1");
  }

  /** The events written in order, each durable before the next (a tiny maxFileBytes gives each its own file). */
  Path write(String name, long maxFileBytes, List<JsonObject> events) throws Exception {
    Path dir = TestToken.scratch(name);
    try (AuditLog log = AuditLog.open(settings(dir, maxFileBytes), Clock.systemUTC(), signer, List.of())) {
      for (JsonObject e : events) {
        log.append(e).join();
      }
    }
    return dir;
  }

  static List<JsonObject> numbered(int n) {
    List<JsonObject> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(call("n" + i, "Encrypt", ALICE, KEY_A, i));
    }
    return out;
  }

  static List<String> ids(Page p) {
    return p.events().stream().map(Found::eventId).toList();
  }

  static List<String> ids(AuditLookup lookup, Filter f) throws Exception {
    return ids(lookup.lookup(f, null, 50));
  }

  /** Every page of a lookup, following the positions. */
  static List<String> allPages(AuditLookup lookup, Filter f, int max) throws Exception {
    List<String> out = new ArrayList<>();
    Position from = null;
    int pages = 0;
    do {
      Page p = lookup.lookup(f, from, max);
      assertTrue(p.events().size() <= max);
      out.addAll(ids(p));
      from = p.next();
      assertTrue(++pages < 1000, "paging ends");
    } while (from != null);
    return out;
  }

  static List<String> newestFirst(int n) {
    List<String> out = new ArrayList<>();
    for (int i = n - 1; i >= 0; i--) {
      out.add("n" + i);
    }
    return out;
  }

  @Test
  void lookup_returnsEventsNewestFirst_withoutHeadersOrDigests() throws Exception {
    Path dir = write("lookup-order", 64L << 20, numbered(7));
    Page p = new AuditLookup(dir, () -> Long.MAX_VALUE).lookup(Filter.ALL, null, 50);
    assertEquals(newestFirst(7), ids(p));
    assertNull(p.next(), "nothing older is left");
    for (int i = 1; i < p.events().size(); i++) {
      assertTrue(p.events().get(i - 1).seq() > p.events().get(i).seq());
    }
  }

  @Test
  void paging_withinOneFile_hasNoGapsAndNoDuplicates() throws Exception {
    Path dir = write("lookup-pages", 64L << 20, numbered(23));
    AuditLookup lookup = new AuditLookup(dir, () -> Long.MAX_VALUE);
    for (int max : new int[] {1, 4, 5, 23, 50}) {
      assertEquals(newestFirst(23), allPages(lookup, Filter.ALL, max), "pages of " + max);
    }
  }

  @Test
  void paging_acrossFiles_hasNoGapsAndNoDuplicates() throws Exception {
    // each event in a file of its own: header, event, digest
    Path dir = write("lookup-files", 1, numbered(13));
    assertTrue(AuditFiles.list(dir).size() >= 13, "one file per event: " + AuditFiles.list(dir));
    AuditLookup lookup = new AuditLookup(dir, () -> Long.MAX_VALUE);
    for (int max : new int[] {1, 2, 5, 13}) {
      assertEquals(newestFirst(13), allPages(lookup, Filter.ALL, max), "pages of " + max);
    }
    assertEquals(List.of("n9", "n8"), allPages(lookup, new Filter(null, null, T0.plus(8, ChronoUnit.MINUTES),
        T0.plus(9, ChronoUnit.MINUTES)), 1));
  }

  @Test
  void paging_continuesBeforeThePosition_evenWhileNewerEventsArrive() throws Exception {
    Path dir = TestToken.scratch("lookup-live");
    try (AuditLog log = AuditLog.open(settings(dir, 64L << 20), Clock.systemUTC(), signer, List.of())) {
      for (JsonObject e : numbered(6)) {
        log.append(e).join();
      }
      AuditLookup lookup = AuditLookup.of(log);
      Page first = lookup.lookup(Filter.ALL, null, 3);
      assertEquals(List.of("n5", "n4", "n3"), ids(first));
      log.append(call("later", "Encrypt", ALICE, KEY_A, 30)).join();
      Page second = lookup.lookup(Filter.ALL, first.next(), 3);
      assertEquals(List.of("n2", "n1", "n0"), ids(second));
      assertEquals("later", ids(lookup.lookup(Filter.ALL, null, 1)).get(0));
    }
  }

  @Test
  void eachAttribute_selectsItsEvents() throws Exception {
    Path dir = write("lookup-attributes", 64L << 20, mixed());
    AuditLookup lookup = new AuditLookup(dir, () -> Long.MAX_VALUE);
    assertEquals(List.of("e3"), ids(lookup, new Filter(Attribute.EVENT_ID, "e3", null, null)));
    assertEquals(List.of("e3", "e2"), ids(lookup, new Filter(Attribute.EVENT_NAME, "Decrypt", null, null)));
    assertEquals(List.of(), ids(lookup, new Filter(Attribute.EVENT_NAME, "decrypt", null, null)), "exact case");
    assertEquals(List.of("e5", "e3", "e2", "e1"), ids(lookup, new Filter(Attribute.READ_ONLY, "true", null, null)));
    assertEquals(List.of("e4", "e0"), ids(lookup, new Filter(Attribute.READ_ONLY, "false", null, null)));
    assertEquals(List.of("e5", "e2", "e1"), ids(lookup, new Filter(Attribute.USERNAME, "alice", null, null)));
    assertEquals(List.of("e0"), ids(lookup, new Filter(Attribute.USERNAME, "root", null, null)));
    assertEquals(List.of("e3"), ids(lookup, new Filter(Attribute.USERNAME, "batch_7", null, null)));
    assertEquals(List.of(), ids(lookup, new Filter(Attribute.USERNAME, "app", null, null)),
        "an assumed role's user name is its session's name, not the role's");
    assertEquals(List.of("e4", "e3", "e2", "e1", "e0"),
        ids(lookup, new Filter(Attribute.RESOURCE_TYPE, "AWS::KMS::Key", null, null)));
    assertEquals(List.of("e2", "e1", "e0"), ids(lookup, new Filter(Attribute.RESOURCE_NAME, KEY_A, null, null)));
    assertEquals(List.of("e4", "e3"), ids(lookup, new Filter(Attribute.RESOURCE_NAME, KEY_B, null, null)));
    assertEquals(List.of("e5", "e4", "e3", "e2", "e1", "e0"),
        ids(lookup, new Filter(Attribute.EVENT_SOURCE, "kms.amazonaws.com", null, null)));
    assertEquals(List.of(), ids(lookup, new Filter(Attribute.EVENT_SOURCE, "iam.amazonaws.com", null, null)));
    assertEquals(List.of("e5", "e2", "e1"), ids(lookup, new Filter(Attribute.ACCESS_KEY_ID, "AKIAALICE", null, null)));
    assertEquals(List.of("e3"), ids(lookup, new Filter(Attribute.ACCESS_KEY_ID, "ASIASESSION", null, null)));
  }

  @Test
  void username_followsCloudTrail_userNameRootSessionNameAndNoneForServiceEvents() throws Exception {
    Path dir = write("lookup-usernames", 64L << 20, mixed());
    List<Found> all = new AuditLookup(dir, () -> Long.MAX_VALUE).lookup(Filter.ALL, null, 50).events();
    java.util.Map<String, String> byId = new java.util.HashMap<>();
    all.forEach(f -> byId.put(f.eventId(), String.valueOf(f.username())));
    assertEquals("root", byId.get("e0"));
    assertEquals("alice", byId.get("e1"));
    assertEquals("batch_7", byId.get("e3"));
    assertEquals("null", byId.get("e4"), "the service's own event has no user name");
  }

  @Test
  void found_exposesTheEventAsWritten() throws Exception {
    Path dir = write("lookup-fields", 64L << 20, mixed());
    Found f = new AuditLookup(dir, () -> Long.MAX_VALUE).lookup(new Filter(Attribute.EVENT_ID, "e2", null, null),
        null, 1).events().get(0);
    String line = Files.readAllLines(AuditTesting.only(dir), StandardCharsets.UTF_8).stream()
        .filter(l -> l.contains("\"eventID\":\"e2\"")).findFirst().orElseThrow();
    assertTrue(line.endsWith(f.json() + "}"), "the event's JSON is the trail's own bytes");
    assertEquals("lookup test", new JsonObject(f.json()).getJsonObject("requestParameters")
        .getJsonObject("encryptionContext").getString("purpose"));
    assertEquals(T0.plus(2, ChronoUnit.MINUTES), f.eventTime());
    assertEquals("true", f.readOnly());
    assertEquals("Decrypt", f.eventName());
    assertEquals("kms.amazonaws.com", f.eventSource());
    assertEquals("AKIAALICE", f.accessKeyId());
    assertEquals(1, f.resources().size());
    assertEquals("AWS::KMS::Key", f.resources().get(0)[0]);
    assertEquals(KEY_A, f.resources().get(0)[1]);
  }

  @Test
  void timeRange_isInclusiveAtBothEnds_andCombinesWithAnAttribute() throws Exception {
    Path dir = write("lookup-time", 64L << 20, mixed());
    AuditLookup lookup = new AuditLookup(dir, () -> Long.MAX_VALUE);
    Instant m1 = T0.plus(1, ChronoUnit.MINUTES);
    Instant m3 = T0.plus(3, ChronoUnit.MINUTES);
    assertEquals(List.of("e3", "e2", "e1"), ids(lookup, new Filter(null, null, m1, m3)));
    assertEquals(List.of("e5", "e4", "e3"), ids(lookup, new Filter(null, null, m3, null)));
    assertEquals(List.of("e1", "e0"), ids(lookup, new Filter(null, null, null, m1)));
    assertEquals(List.of("e2"), ids(lookup, new Filter(Attribute.USERNAME, "alice", m1.plusMillis(1), m3)));
    assertEquals(List.of(), ids(lookup, new Filter(null, null, T0.plus(Duration.ofDays(2)), null)));
  }

  @Test
  void filesNewerThanEndTime_areSkippedAfterTheirFirstEvent_andTheScanStopsBeforeStartTime() throws Exception {
    Path dir = TestToken.scratch("lookup-days");
    MutableClock clock = new MutableClock();
    Instant day1 = clock.instant().truncatedTo(ChronoUnit.DAYS).plus(12, ChronoUnit.HOURS);
    int[] counts = {5, 40, 40};
    List<String> firstDay = new ArrayList<>();
    try (AuditLog log = AuditLog.open(settings(dir, 64L << 20), clock, signer, List.of())) {
      for (int day = 0; day < counts.length; day++) {
        for (int i = 0; i < counts[day]; i++) {
          String id = "d" + day + "-" + i;
          log.append(AuditEvent.apiCall("Encrypt").eventId(id).time(day1.plus(day, ChronoUnit.DAYS).plusSeconds(i))
              .caller(ALICE).region("us-east-1").key(KEY_A).build()).join();
          if (day == 0) {
            firstDay.add(0, id);
          }
        }
        // the next day: a digest, after which the writer starts the next day's file
        clock.advance(Duration.ofDays(1));
        log.digestNow().join();
      }
    }
    List<AuditFiles.Entry> files = AuditFiles.list(dir);
    assertTrue(files.size() >= 3, files.toString());
    long dayOneSize = Files.size(files.get(0).path());
    long dayTwoSize = Files.size(files.get(1).path());
    // the budget: the first day's file and the newest (a header only, the day after the last events)
    long budget = dayOneSize + 4096;
    assertTrue(budget < dayTwoSize, budget + " " + dayTwoSize);
    AuditLookup lookup = new AuditLookup(dir, () -> Long.MAX_VALUE);
    // a budget smaller than a newer day's file: all found in one call only if the newer files are not read
    Page p = lookup.lookup(new Filter(null, null, null, day1.plus(1, ChronoUnit.HOURS)), null, 50, budget);
    assertEquals(firstDay, ids(p));
    assertNull(p.next());
    // and StartTime: the scan stops at the first older event, before the first day's file
    Page last = lookup.lookup(new Filter(null, null, day1.plus(2, ChronoUnit.DAYS), null), null, 50);
    assertEquals(40, last.events().size());
    assertNull(last.next());
    assertTrue(last.events().stream().allMatch(f -> f.eventId().startsWith("d2-")));
  }

  @Test
  void scanBudget_endsTheCallWithAPositionToContinueFrom() throws Exception {
    Path dir = write("lookup-budget", 64L << 20, numbered(30));
    AuditLookup lookup = new AuditLookup(dir, () -> Long.MAX_VALUE);
    Filter rare = new Filter(Attribute.EVENT_ID, "n2", null, null);
    Page p = lookup.lookup(rare, null, 50, 2000);
    assertEquals(List.of(), ids(p), "the budget ran out before n2");
    assertNotNull(p.next());
    List<String> found = new ArrayList<>();
    Position from = p.next();
    while (from != null) {
      Page next = lookup.lookup(rare, from, 50, 2000);
      found.addAll(ids(next));
      from = next.next();
    }
    assertEquals(List.of("n2"), found);
  }

  @Test
  void aLineLongerThanTheGatewayWrites_isRefused_notReadIntoMemory() throws Exception {
    Path dir = write("lookup-overlong", 64L << 20, numbered(2));
    Path file = AuditTesting.only(dir);
    // a file changed by hand: one line of 17 MiB after the genuine ones
    StringBuilder text = new StringBuilder();
    AuditTesting.lines(file).forEach(l -> text.append(l).append('\n'));
    text.append("{\"event\":\"").append("x".repeat(AuditVerifier.MAX_LINE + (1 << 20))).append("\"}\n");
    Files.writeString(file, text, StandardCharsets.UTF_8);
    java.io.IOException e = assertThrows(java.io.IOException.class,
        () -> new AuditLookup(dir, () -> Long.MAX_VALUE).lookup(Filter.ALL, null, 50));
    assertTrue(e.getMessage().contains("longer than any the gateway writes"), e.getMessage());
  }

  @Test
  void linesNotYetDurable_andAnIncompleteLastLine_areNotShown() throws Exception {
    Path dir = write("lookup-durable", 64L << 20, numbered(5));
    Path file = AuditTesting.only(dir);
    List<String> lines = AuditTesting.lines(file);
    long seqOfN2 = lines.stream().filter(l -> l.contains("\"eventID\":\"n2\"")).mapToLong(AuditRecords::quickSeq)
        .findFirst().orElseThrow();
    assertEquals(List.of("n2", "n1", "n0"), ids(new AuditLookup(dir, () -> seqOfN2), Filter.ALL));
    // a write in progress: the start of a line without its end
    String half = "{\"kmsgw\":{\"seq\":999,\"prev\":\"00\"},\"event\":{\"eventID\":\"torn\"";
    Files.writeString(file, half, StandardOpenOption.APPEND);
    assertEquals(newestFirst(5), ids(new AuditLookup(dir, () -> Long.MAX_VALUE), Filter.ALL));
  }

  @Test
  void position_thatIsNoLineStart_orNoAuditFile_isInvalid() throws Exception {
    Path dir = write("lookup-position", 64L << 20, numbered(3));
    AuditLookup lookup = new AuditLookup(dir, () -> Long.MAX_VALUE);
    String name = AuditTesting.only(dir).getFileName().toString();
    assertThrows(AuditLookup.InvalidPosition.class, () -> lookup.lookup(Filter.ALL, new Position(name, 5), 5));
    assertThrows(AuditLookup.InvalidPosition.class,
        () -> lookup.lookup(Filter.ALL, new Position(name, Files.size(AuditTesting.only(dir)) + 1), 5));
    assertThrows(AuditLookup.InvalidPosition.class,
        () -> lookup.lookup(Filter.ALL, new Position("../../etc/passwd", 0), 5));
    assertEquals(List.of(), ids(lookup.lookup(Filter.ALL, new Position(name, 0), 5)), "before the first line");
  }

  @Test
  void position_inAFileRemovedSince_continuesWithTheOlderFiles() throws Exception {
    Path dir = write("lookup-retention", 1, numbered(4));
    List<AuditFiles.Entry> files = AuditFiles.list(dir);
    Page first = new AuditLookup(dir, () -> Long.MAX_VALUE).lookup(Filter.ALL, null, 1);
    assertEquals(List.of("n3"), ids(first));
    String gone = first.next().file();
    Files.delete(dir.resolve(gone));
    List<String> rest = allPagesFrom(new AuditLookup(dir, () -> Long.MAX_VALUE), first.next());
    assertEquals(List.of("n2", "n1", "n0"), rest);
    assertTrue(files.size() >= 4);
  }

  private static List<String> allPagesFrom(AuditLookup lookup, Position from) throws Exception {
    List<String> out = new ArrayList<>();
    while (from != null) {
      Page p = lookup.lookup(Filter.ALL, from, 2);
      out.addAll(ids(p));
      from = p.next();
    }
    return out;
  }

  @Test
  void emptyDirectory_hasNoEvents() throws Exception {
    Path dir = TestToken.scratch("lookup-empty");
    Page p = new AuditLookup(dir.resolve("none"), () -> Long.MAX_VALUE).lookup(Filter.ALL, null, 50);
    assertEquals(List.of(), p.events());
    assertNull(p.next());
    assertEquals(new HashSet<>(), new HashSet<>(ids(p)));
  }
}
