package io.kmsgw.domain;

import java.time.Instant;

/**
 * Automatic rotation settings of a key.
 *
 * @param periodDays days between automatic rotations (90..2560), kept after rotation is disabled so the API can
 *     report it
 * @param nextRotation when the scheduler rotates next; null while rotation is disabled
 */
public record KeyRotation(boolean enabled, int periodDays, Instant nextRotation) {
  public static final int DEFAULT_PERIOD_DAYS = 365;
  public static final KeyRotation DISABLED = new KeyRotation(false, DEFAULT_PERIOD_DAYS, null);
}
