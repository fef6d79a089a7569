package io.kmsgw.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrendTest {
  private static List<Double> times(int n, double step) {
    List<Double> t = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      t.add(i * step);
    }
    return t;
  }

  @Test
  void aSteadyRise_hasItsSlopePerHour_andIsNotFlat() {
    // one MiB a minute over 20 minutes, sampled every 10 s: a leak
    List<Double> t = times(121, 10);
    List<Double> v = t.stream().map(s -> 300 + s / 60).toList();
    Trend trend = Trend.of("rss_mib", t, v, 16, false);
    assertEquals(60, trend.slopePerHour(), 1e-9);
    assertEquals(20, trend.riseOverWindow(), 1e-9);
    assertEquals(0, trend.noise(), 1e-9);
    assertFalse(trend.flat());
  }

  @Test
  void aSawtooth_isFlat_evenWhenItsSwingsExceedTheTolerance() {
    // a garbage-collected heap: up 40 MiB, back down, again and again
    List<Double> t = times(120, 10);
    List<Double> v = new ArrayList<>();
    for (int i = 0; i < t.size(); i++) {
      v.add(300 + 4.0 * (i % 10));
    }
    Trend trend = Trend.of("rss_mib", t, v, 16, false);
    assertTrue(trend.flat(), trend.toString());
    assertEquals(300, trend.min());
    assertEquals(336, trend.max());
  }

  @Test
  void aConstantCount_isFlatWithZeroTolerance_andOneMoreObjectIsNot() {
    List<Double> t = times(10, 10);
    List<Double> same = t.stream().map(s -> 7.0).toList();
    assertTrue(Trend.of("hsm_objects", t, same, 0, true).flat());
    List<Double> oneMore = new ArrayList<>(same);
    oneMore.set(9, 8.0);
    assertFalse(Trend.of("hsm_objects", t, oneMore, 0, true).flat());
  }

  @Test
  void aSingleStepThatStays_isNoiseForAMovingQuantity_butNotForAnExactOne() {
    List<Double> t = times(10, 10);
    List<Double> v = new ArrayList<>();
    for (int i = 0; i < t.size(); i++) {
      v.add(i < 9 ? 7.0 : 8.0);
    }
    assertTrue(Trend.of("open_files", t, v, 4, false).flat());
    assertFalse(Trend.of("hsm_sessions", t, v, 0, true).flat());
    assertTrue(Trend.of("hsm_sessions", t, v, 1, true).flat());
  }

  @Test
  void fewerThanTwoSamples_areRefused() {
    assertThrows(IllegalArgumentException.class, () -> Trend.of("x", List.of(0.0), List.of(1.0), 0, false));
  }

  @Test
  void nextConnections_scalesTowardsTheTarget_withinBounds() {
    assertEquals(40, Soak.nextConnections(20, 3000, 6000, 80));
    assertEquals(10, Soak.nextConnections(20, 12000, 6000, 80));
    assertEquals(2, Soak.nextConnections(2, 10000, 100, 80));
    assertEquals(80, Soak.nextConnections(60, 10, 6000, 80));
    assertEquals(20, Soak.nextConnections(20, 0, 6000, 80));
  }
}
