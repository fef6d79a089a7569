package io.kmsgw.domain;

/** The key states of the AWS KMS model ({@code KeyState}); {@link #CREATING} is never shown through the API. */
public enum KeyState {
  CREATING("Creating"),
  ENABLED("Enabled"),
  DISABLED("Disabled"),
  PENDING_DELETION("PendingDeletion"),
  PENDING_IMPORT("PendingImport"),
  UNAVAILABLE("Unavailable");

  private final String apiName;

  KeyState(String apiName) {
    this.apiName = apiName;
  }

  public String apiName() {
    return apiName;
  }

  public static KeyState fromApiName(String name) {
    for (KeyState s : values()) {
      if (s.apiName.equals(name)) {
        return s;
      }
    }
    throw new IllegalArgumentException("unknown key state " + name);
  }
}
