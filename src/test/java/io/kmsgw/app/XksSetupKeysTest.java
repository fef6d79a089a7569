package io.kmsgw.app;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.config.ConfigException;
import io.kmsgw.config.XksSettings;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.testing.KmsFixture;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An XKS endpoint's {@code keys} checked at start against the real metadata store: a key id that can never be
 * served refuses the start; an entry that names nothing now only warns (keys are deleted and aliases made through
 * the KMS API, which must not be able to keep the gateway from restarting).
 */
class XksSetupKeysTest {
  static KmsFixture fx;

  @BeforeAll
  static void start() {
    fx = new KmsFixture("xks-setup-keys");
  }

  @AfterAll
  static void stop() {
    fx.close();
  }

  static XksSettings.Endpoint endpoint(String... keys) {
    return endpointOf("default", keys);
  }

  static XksSettings.Endpoint endpointOf(String keyStoreId, String... keys) {
    return new XksSettings.Endpoint("payments", "p", keyStoreId, "us-east-1", "kms-xks-proxy", Set.of(keys),
        List.of(), false, null, List.of(), false);
  }

  @Test
  void aKeyIdOfAnotherKeyStore_refusesTheStart() {
    KeyRecord key = fx.newKey();
    ConfigException e = assertThrows(ConfigException.class, () -> XksSetup.checkKeys(endpointOf(
        "cks-1234567890abcdef0", key.keyId().toString()), fx.keys, fx.aliases));
    assertTrue(e.getMessage().contains("xks.endpoints.payments.keys: key " + key.keyId() + " is in key store default"),
        e.getMessage());
  }

  @Test
  void unknownKeyIdsAndAliases_onlyWarn() {
    List<String> warnings = new java.util.ArrayList<>();
    Handler h = new Handler() {
      @Override
      public void publish(LogRecord r) {
        warnings.add(r.getMessage());
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    Logger log = Logger.getLogger(XksSetup.class.getName());
    log.addHandler(h);
    try {
      String missing = UUID.randomUUID().toString();
      KeyRecord fine = fx.newKey();
      assertDoesNotThrow(() -> XksSetup.checkKeys(endpoint(missing, "not-yet-made", fine.keyId().toString()),
          fx.keys, fx.aliases));
      assertTrue(warnings.stream().anyMatch(w -> w.contains("no key " + missing)), warnings.toString());
      assertTrue(warnings.stream().anyMatch(w -> w.contains("no alias/not-yet-made")), warnings.toString());
      assertTrue(warnings.stream().noneMatch(w -> w.contains(fine.keyId().toString())), warnings.toString());
    } finally {
      log.removeHandler(h);
    }
  }
}
