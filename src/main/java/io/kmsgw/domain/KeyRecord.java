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
 * @param versions every version still held in the HSM, oldest first
 */
public record KeyRecord(
    UUID keyId,
    String accountId,
    String region,
    Instant createdAt,
    String description,
    KeyState state,
    String keyUsage,
    String keySpec,
    String origin,
    String keyStoreId,
    int currentVersion,
    Instant deletionDate,
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
        keyStoreId, currentVersion, deletionDate, versions, tags);
  }
}
