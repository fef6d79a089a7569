package io.kmsgw.testing;

/**
 * The fuzzing budget of {@code mvn verify}: seven targets of 15 s each, each in a JVM of its own that costs about
 * 20 s of CPU to start, instrument and replay its seeds (measured; docs/security.md "Fuzzing"), keep the fuzz phase
 * near 3 minutes on an otherwise idle two-core machine. For a longer run of one target, raise this and run
 * {@code JAZZER_FUZZ=1 mvn test -Dtest=SomeFuzzTest}.
 */
public final class Fuzzing {
  /** Per target, in Jazzer's duration syntax. */
  public static final String BUDGET = "15s";

  private Fuzzing() {}
}
