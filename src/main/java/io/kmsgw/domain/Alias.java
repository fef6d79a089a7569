package io.kmsgw.domain;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/** An alias: a friendly name ({@code alias/...}) for one key of an account. */
public record Alias(String accountId, String name, UUID targetKeyId, Instant createdAt, Instant updatedAt) {
  public Alias {
    Objects.requireNonNull(accountId);
    Objects.requireNonNull(name);
    Objects.requireNonNull(targetKeyId);
    Objects.requireNonNull(createdAt);
    Objects.requireNonNull(updatedAt);
  }

  public String arn(String region) {
    return "arn:aws:kms:" + region + ":" + accountId + ":" + name;
  }
}
