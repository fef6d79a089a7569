package io.kmsgw.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * A clock a test moves forward by hand, so rotation and deletion dates arrive without sleeping: real time plus the
 * advances, or, from {@link #at}, a fixed instant plus the advances.
 */
public final class MutableClock extends Clock {
  private final Instant fixed;
  private volatile Duration offset = Duration.ZERO;

  public MutableClock() {
    this(null);
  }

  private MutableClock(Instant fixed) {
    this.fixed = fixed;
  }

  /** A clock that stands at {@code start} until advanced. */
  public static MutableClock at(Instant start) {
    return new MutableClock(start);
  }

  public void advance(Duration by) {
    offset = offset.plus(by);
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }

  @Override
  public Instant instant() {
    return (fixed == null ? Instant.now() : fixed).plus(offset);
  }
}
