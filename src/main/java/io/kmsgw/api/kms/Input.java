package io.kmsgw.api.kms;

import java.util.List;
import java.util.Map;

/** A request that passed model validation, with typed accessors. Absent members are null. */
public final class Input {
  private final Map<String, Object> values;

  public Input(Map<String, Object> values) {
    this.values = values;
  }

  /**
   * Refuses {@code Recipient} (Nitro Enclaves attestation): kmsgw has no enclave attestation to check, and
   * answering in plaintext instead would defeat the caller's intent.
   */
  public void refuseRecipient() {
    if (has("Recipient")) {
      throw new io.kmsgw.error.KmsException(io.kmsgw.error.ErrorCode.UNSUPPORTED_OPERATION,
          "Recipient (Nitro Enclaves attestation) is not supported by kmsgw.");
    }
  }

  public boolean has(String member) {
    return values.containsKey(member);
  }

  public String string(String member) {
    return (String) values.get(member);
  }

  public byte[] bytes(String member) {
    return (byte[]) values.get(member);
  }

  /** A timestamp member (the model's {@code timestamp}), or null when absent. */
  public java.time.Instant instant(String member) {
    return (java.time.Instant) values.get(member);
  }

  public Integer integer(String member) {
    return (Integer) values.get(member);
  }

  public boolean flag(String member) {
    return Boolean.TRUE.equals(values.get(member));
  }

  @SuppressWarnings("unchecked")
  public Map<String, String> stringMap(String member) {
    return (Map<String, String>) values.get(member);
  }

  /** A structure member, or null when absent. */
  @SuppressWarnings("unchecked")
  public Map<String, Object> structure(String member) {
    return (Map<String, Object>) values.get(member);
  }

  @SuppressWarnings("unchecked")
  public List<Map<String, Object>> structures(String member) {
    List<Map<String, Object>> l = (List<Map<String, Object>>) values.get(member);
    return l == null ? List.of() : l;
  }

  @SuppressWarnings("unchecked")
  public List<String> strings(String member) {
    List<String> l = (List<String>) values.get(member);
    return l == null ? List.of() : l;
  }
}
