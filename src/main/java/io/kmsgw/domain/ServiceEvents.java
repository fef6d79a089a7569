package io.kmsgw.domain;

import java.util.Map;

/**
 * What the gateway does by itself, for the audit trail: automatic rotation, deletion at the end of a key's waiting
 * period, key store state changes. Called from worker threads; implementations must not block for long.
 */
@FunctionalInterface
public interface ServiceEvents {
  ServiceEvents NONE = (name, keyArn, details) -> {};

  /**
   * @param eventName CloudTrail's name where it has one ({@code RotateKey}, {@code DeleteKey}), else a kmsgw name
   * @param keyArn the key concerned, or null
   * @param details values for serviceEventDetails (never a secret)
   */
  void record(String eventName, String keyArn, Map<String, Object> details);
}
