package io.kmsgw.testing;

/**
 * The fuzzing budget of {@code mvn verify}. Seven targets of 20 s each, plus about 10 s of JVM start and
 * instrumentation each, keep the fuzz phase near 3.5 minutes on two cores (measured, docs/security.md "Fuzzing").
 * For a longer run of one target, raise this and run {@code JAZZER_FUZZ=1 mvn test -Dtest=SomeFuzzTest}.
 */
public final class Fuzzing {
  /** Per target, in Jazzer's duration syntax. */
  public static final String BUDGET = "20s";

  private Fuzzing() {}
}
