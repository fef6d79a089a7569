package io.kmsgw.auth;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A set of access keys that can be replaced while the gateway runs (XKS credentials on a configuration reload), so
 * credentials rotate without a restart: a request is checked against the set current when it arrives.
 */
public final class ReplaceableCredentialStore implements CredentialStore {
  private volatile Map<String, AccessKey> keys;

  public ReplaceableCredentialStore(List<AccessKey> initial) {
    replace(initial);
  }

  /** From now on, exactly these keys are valid. */
  public void replace(List<AccessKey> next) {
    keys = next.stream().collect(Collectors.toUnmodifiableMap(AccessKey::accessKeyId, Function.identity()));
  }

  @Override
  public Optional<AccessKey> find(String accessKeyId) {
    return Optional.ofNullable(keys.get(accessKeyId));
  }
}
