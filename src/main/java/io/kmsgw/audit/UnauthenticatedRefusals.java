package io.kmsgw.audit;

import java.time.Clock;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Keeps callers without credentials from writing the disk full through the audit trail (issue #15 item 2): each
 * refused unauthenticated request would be an event of about 1.7 KB. Per UTC minute, the first refusal from each
 * source address is recorded as its own event; later ones from the same source are counted, and the counts go into
 * one {@value #EVENT} service event when the minute is over (or at shutdown). At most {@value #MAX_SOURCES} sources
 * a minute are recorded individually; refusals from further sources are counted under {@code other}. So such
 * callers cost at most {@value #MAX_SOURCES} + 1 events a minute, whatever their rate.
 *
 * <p>A counted refusal is answered without waiting for the disk: it acknowledges nothing and changed nothing, and its
 * record is the count in the summary (which a crash within the minute loses; see docs/decisions.md).
 */
public final class UnauthenticatedRefusals implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(UnauthenticatedRefusals.class.getName());
  /** The summary's event name. */
  public static final String EVENT = "KmsgwUnauthenticatedRequests";
  /** Sources recorded individually (and counted by name) per minute. */
  public static final int MAX_SOURCES = 100;
  /** The name under which refusals from sources beyond {@link #MAX_SOURCES} are counted. */
  public static final String OTHER = "other";

  private final AuditLog log;
  private final Clock clock;
  private final String region;
  private final String account;
  private final ScheduledExecutorService timer;

  // the current minute's state, guarded by this
  private long minute = Long.MIN_VALUE;
  private final Set<String> seen = new HashSet<>();
  private final Map<String, Long> counted = new LinkedHashMap<>();
  private long other;
  private boolean closed;

  /**
   * @param tick whether a timer thread writes each minute's summary once the minute is over (off in tests, which
   *     call {@link #flushDue()})
   */
  public UnauthenticatedRefusals(AuditLog log, Clock clock, String region, String account, boolean tick) {
    this.log = log;
    this.clock = clock;
    this.region = region;
    this.account = account;
    if (tick) {
      timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kmsgw-audit-refusals");
        t.setDaemon(true);
        return t;
      });
      timer.scheduleWithFixedDelay(this::flushDue, 1, 1, TimeUnit.SECONDS);
    } else {
      timer = null;
    }
    log.beforeClose(this::close);
  }

  /**
   * An unauthenticated refused request from {@code sourceIp}: recorded individually (the returned stage completes
   * when its event is durable) if it is the source's first this minute, else counted (completes at once).
   */
  public CompletionStage<Void> record(String sourceIp, Supplier<AuditEvent.Builder> event) {
    String source = sourceIp == null ? "unknown" : sourceIp;
    AuditEvent.Builder summary;
    boolean individually = false;
    synchronized (this) {
      summary = closed ? null : rollOver(clock.instant(), false);
      if (closed) {
        individually = true;
      } else if (seen.contains(source)) {
        counted.merge(source, 1L, Long::sum);
      } else if (seen.size() < MAX_SOURCES) {
        seen.add(source);
        individually = true;
      } else {
        other++;
      }
    }
    write(summary);
    return individually ? log.append(event.get()) : CompletableFuture.completedFuture(null);
  }

  /** Writes the summary of a minute that is over, if any. */
  void flushDue() {
    AuditEvent.Builder summary;
    synchronized (this) {
      summary = closed ? null : rollOver(clock.instant(), false);
    }
    write(summary);
  }

  /** Writes the current minute's summary now (shutdown); refusals after this are recorded individually. */
  @Override
  public void close() {
    AuditEvent.Builder summary;
    synchronized (this) {
      if (closed) {
        return;
      }
      summary = rollOver(clock.instant(), true);
      closed = true;
    }
    if (timer != null) {
      timer.shutdownNow();
    }
    if (summary != null) {
      try {
        log.append(summary).get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.warning(() -> "audit: the last summary of unauthenticated refusals was not recorded: " + e);
      }
    }
  }

  /** Ends the current minute if {@code now} is in a later one (or {@code force}); returns its summary, if any. */
  private AuditEvent.Builder rollOver(Instant now, boolean force) {
    long m = Math.floorDiv(now.getEpochSecond(), 60);
    if (m == minute && !force) {
      return null;
    }
    AuditEvent.Builder summary = null;
    long total = other + counted.values().stream().mapToLong(Long::longValue).sum();
    if (total > 0) {
      Map<String, Long> sources = new LinkedHashMap<>(counted);
      if (other > 0) {
        sources.put(OTHER, other);
      }
      summary = AuditEvent.serviceEvent(EVENT).time(now).region(region).recipientAccountId(account)
          .serviceEventDetail("minute", Instant.ofEpochSecond(minute * 60).toString())
          .serviceEventDetail("refusedNotRecordedIndividually", total)
          .serviceEventDetail("recordedIndividually", (long) seen.size())
          .serviceEventDetail("bySource", sources);
    }
    minute = m;
    seen.clear();
    counted.clear();
    other = 0;
    return summary;
  }

  private void write(AuditEvent.Builder summary) {
    if (summary == null) {
      return;
    }
    log.append(summary).whenComplete((ok, e) -> {
      if (e != null) {
        LOG.warning(() -> "audit: a summary of unauthenticated refusals could not be recorded: " + e.getMessage());
      }
    });
  }
}
