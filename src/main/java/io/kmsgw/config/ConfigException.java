package io.kmsgw.config;

/** The configuration is invalid; the message says which key and why, and never contains a secret. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
