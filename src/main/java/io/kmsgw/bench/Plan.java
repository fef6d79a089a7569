package io.kmsgw.bench;

import java.util.List;

/** What a benchmark run does: durations and connection counts differ between the short and the full mode. */
record Plan(String mode, int seconds, int warmupSeconds, List<Integer> connections, int spreadKeys,
    int createKeySeconds, int rawSeconds, int coldStartSeconds) {
  static Plan shortPlan() {
    return new Plan("short", 3, 3, List.of(1, 32), 1_000, 3, 3, 6);
  }

  static Plan fullPlan() {
    return new Plan("full", 15, 10, List.of(1, 8, 32), 10_000, 10, 10, 45);
  }

  boolean full() {
    return mode.equals("full");
  }

  Plan withColdStartSeconds(int s) {
    return new Plan(mode, seconds, warmupSeconds, connections, spreadKeys, createKeySeconds, rawSeconds, s);
  }

  Plan withSeconds(int s) {
    return new Plan(mode, s, warmupSeconds, connections, spreadKeys, createKeySeconds, rawSeconds,
        coldStartSeconds);
  }

  /**
   * The connections of the key-type scenarios (Sign, Verify, GenerateMac, DeriveSharedSecret): 1 and 32 in full
   * mode; in short mode only 32, which is what the floors are about, so that CI stays short.
   */
  List<Integer> keyTypeConnections() {
    return full() ? List.of(1, 32) : List.of(32);
  }

  /** Seconds of each key-type scenario: the mode's in full mode, one in short mode (a check that they work). */
  int keyTypeSeconds() {
    return full() ? seconds : 1;
  }

  /** A warm-up (not reported) before each key-type operation's first scenario: its code paths are new to the JIT. */
  int keyTypeWarmupSeconds() {
    return full() ? Math.max(1, warmupSeconds / 2) : 0;
  }

  /** Seconds of the raw PKCS#11 loop of each key-type mechanism (after its own second of warm-up). */
  int keyTypeRawSeconds() {
    return full() ? rawSeconds : 1;
  }
}
