package io.kmsgw.app;

import io.kmsgw.config.GatewayConfig;
import java.time.Clock;
import java.time.Duration;
import java.util.logging.Logger;

/**
 * The gateway's two clocks.
 *
 * @param clock the real time: signatures, audit events, the start
 * @param lifecycle rotation and deletion dates and session expiry; moved forward only in development mode, never
 *     the clock that checks signatures
 */
record Clocks(Clock clock, Clock lifecycle) {
  private static final Logger LOG = Logger.getLogger(Gateway.class.getName());

  static Clocks of(GatewayConfig config) {
    Clock clock = Clock.systemUTC();
    Clock lifecycle = config.devClockOffsetDays() == 0 ? clock
        : Clock.offset(clock, Duration.ofDays(config.devClockOffsetDays()));
    if (config.devClockOffsetDays() != 0) {
      LOG.warning(() -> "development: the lifecycle clock runs " + config.devClockOffsetDays() + " days ahead ("
          + lifecycle.instant() + ")");
    }
    return new Clocks(clock, lifecycle);
  }
}
