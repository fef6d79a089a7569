package io.kmsgw.domain;

import java.util.Objects;

/** A resource tag of a CMK. */
public record Tag(String key, String value) {
  public Tag {
    Objects.requireNonNull(key);
    Objects.requireNonNull(value);
  }
}
