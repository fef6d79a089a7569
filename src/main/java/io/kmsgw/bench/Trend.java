package io.kmsgw.bench;

import java.util.List;

/**
 * The trend of one quantity sampled over a soak: its least-squares slope, and whether it is flat.
 *
 * <p>A quantity that moves on its own (resident memory, threads, open files) is flat when the rise its slope makes
 * over the measured window is no larger than its own noise (three standard deviations of the samples around the
 * fitted line) or a fixed tolerance, whichever is larger: a leak rises steadily and fails it; a sawtooth such as a
 * garbage-collected heap or connections coming and going does not. A quantity that should not move at all under a
 * steady load ({@code exact}: HSM objects, sessions, keys) is flat when all its samples lie within the tolerance of
 * each other, so that one object more fails even as a single step.
 *
 * @param slopePerHour the fitted rise per hour
 * @param riseOverWindow the fitted rise from the first to the last sample
 * @param noise three standard deviations of the residuals around the line
 * @param tolerance the rise allowed regardless of noise
 */
record Trend(String name, int samples, double first, double last, double min, double max, double slopePerHour,
    double riseOverWindow, double noise, double tolerance, boolean exact) {

  boolean flat() {
    return exact ? max - min <= tolerance : riseOverWindow <= Math.max(noise, tolerance);
  }

  /** The trend of {@code values} sampled at {@code seconds}; needs at least two samples. */
  static Trend of(String name, List<Double> seconds, List<Double> values, double tolerance, boolean exact) {
    int n = values.size();
    if (n < 2 || seconds.size() != n) {
      throw new IllegalArgumentException("a trend needs at least two samples at as many times");
    }
    double mt = 0;
    double mv = 0;
    for (int i = 0; i < n; i++) {
      mt += seconds.get(i);
      mv += values.get(i);
    }
    mt /= n;
    mv /= n;
    double stv = 0;
    double stt = 0;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      double dt = seconds.get(i) - mt;
      stv += dt * (values.get(i) - mv);
      stt += dt * dt;
      min = Math.min(min, values.get(i));
      max = Math.max(max, values.get(i));
    }
    double slope = stt == 0 ? 0 : stv / stt;
    double sq = 0;
    for (int i = 0; i < n; i++) {
      double r = values.get(i) - (mv + slope * (seconds.get(i) - mt));
      sq += r * r;
    }
    double sd = n > 2 ? Math.sqrt(sq / (n - 2)) : 0;
    double window = seconds.get(n - 1) - seconds.get(0);
    return new Trend(name, n, values.get(0), values.get(n - 1), min, max, slope * 3600, slope * window, 3 * sd,
        tolerance, exact);
  }
}
