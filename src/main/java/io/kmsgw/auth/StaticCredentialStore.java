package io.kmsgw.auth;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/** A fixed set of access keys (the bootstrap administrator's). */
public final class StaticCredentialStore implements CredentialStore {
  private final Map<String, AccessKey> keys;

  public StaticCredentialStore(List<AccessKey> keys) {
    this.keys = keys.stream().collect(Collectors.toUnmodifiableMap(AccessKey::accessKeyId, Function.identity()));
  }

  @Override
  public Optional<AccessKey> find(String accessKeyId) {
    return Optional.ofNullable(keys.get(accessKeyId));
  }
}
