package io.kmsgw.domain;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * The metadata of one CMK, as the metadata store keeps it. Immutable: a change makes a new record.
 *
 * @param keyStoreId the key store holding the material ({@code "default"} for the configured HSM)
 * @param currentVersion the version new encryptions use
 * @param deletionDate when a key pending deletion is destroyed; null otherwise
 * @param pendingWindowDays the waiting period ScheduleKeyDeletion set (0 when not pending deletion)
 * @param rotation automatic rotation settings
 * @param versions every version still held in the HSM, oldest first
 */
public record KeyRecord(
    UUID keyId,
    String accountId,
    String region,
    Instant createdAt,
    String description,
    KeyState state,
    KeyUsage keyUsage,
    KeySpec keySpec,
    Origin origin,
    String keyStoreId,
    int currentVersion,
    Instant deletionDate,
    int pendingWindowDays,
    KeyRotation rotation,
    List<KeyVersion> versions,
    List<Tag> tags) {

  public static final String DEFAULT_KEY_STORE = "default";

  public KeyRecord {
    Objects.requireNonNull(keyId);
    Objects.requireNonNull(accountId);
    Objects.requireNonNull(region);
    Objects.requireNonNull(createdAt);
    Objects.requireNonNull(description);
    Objects.requireNonNull(state);
    Objects.requireNonNull(keyUsage);
    Objects.requireNonNull(keySpec);
    Objects.requireNonNull(origin);
    Objects.requireNonNull(keyStoreId);
    Objects.requireNonNull(rotation);
    versions = List.copyOf(versions);
    tags = List.copyOf(tags);
  }

  public String arn() {
    return arn(region, accountId, keyId);
  }

  public static String arn(String region, String accountId, UUID keyId) {
    return "arn:aws:kms:" + region + ":" + accountId + ":key/" + keyId;
  }

  public Optional<KeyVersion> version(int version) {
    for (KeyVersion v : versions) {
      if (v.version() == version) {
        return Optional.of(v);
      }
    }
    return Optional.empty();
  }

  public KeyVersion current() {
    return version(currentVersion)
        .orElseThrow(() -> new IllegalStateException("key " + keyId + " has no version " + currentVersion));
  }

  public KeyRecord withState(KeyState newState) {
    return new KeyRecord(keyId, accountId, region, createdAt, description, newState, keyUsage, keySpec, origin,
        keyStoreId, currentVersion, deletionDate, pendingWindowDays, rotation, versions, tags);
  }

  public KeyRecord withDescription(String newDescription) {
    return new KeyRecord(keyId, accountId, region, createdAt, newDescription, state, keyUsage, keySpec, origin,
        keyStoreId, currentVersion, deletionDate, pendingWindowDays, rotation, versions, tags);
  }

  /** Pending deletion on {@code date} after a window of {@code windowDays}, or back ({@code date} null). */
  public KeyRecord withDeletion(KeyState newState, Instant date, int windowDays) {
    return new KeyRecord(keyId, accountId, region, createdAt, description, newState, keyUsage, keySpec, origin,
        keyStoreId, currentVersion, date, windowDays, rotation, versions, tags);
  }

  public KeyRecord withRotation(KeyRotation newRotation) {
    return new KeyRecord(keyId, accountId, region, createdAt, description, state, keyUsage, keySpec, origin,
        keyStoreId, currentVersion, deletionDate, pendingWindowDays, newRotation, versions, tags);
  }

  /** A new version that becomes the current one. */
  public KeyRecord withNewVersion(KeyVersion version, KeyRotation newRotation) {
    List<KeyVersion> all = new java.util.ArrayList<>(versions);
    all.add(version);
    return new KeyRecord(keyId, accountId, region, createdAt, description, state, keyUsage, keySpec, origin,
        keyStoreId, version.version(), deletionDate, pendingWindowDays, newRotation, all, tags);
  }

  public KeyRecord withTags(List<Tag> newTags) {
    return new KeyRecord(keyId, accountId, region, createdAt, description, state, keyUsage, keySpec, origin,
        keyStoreId, currentVersion, deletionDate, pendingWindowDays, rotation, versions, newTags);
  }
}
