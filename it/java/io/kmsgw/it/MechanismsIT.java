package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestPkcs11Module;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The mechanisms each key store's token offers, read at connection, as the operator sees them: in the signed health
 * details and in {@code ./kmsgw keystore list}; and a token without AES-GCM (hidden by the project's test module) is
 * a FAILED store with a message naming the mechanism, in a gateway that keeps running.
 */
class MechanismsIT {
  private static JsonObject store(JsonObject health, String id) {
    return health.getJsonArray("keyStores").stream().map(JsonObject.class::cast)
        .filter(h -> id.equals(h.getString("keyStore"))).findFirst().orElseThrow(() -> new AssertionError(health));
  }

  @Test
  void healthDetailAndKeystoreList_showTheDiscoveredMechanisms() throws Exception {
    try (GatewayProcess gateway = GatewayProcess.start("mechanisms")) {
      JsonObject health = new JsonObject(new RawClient(gateway.endpoint()).healthDetail().body());
      JsonObject m = store(health, "default").getJsonObject("mechanisms");
      JsonArray caps = m.getJsonArray("capabilities");
      for (String c : List.of("AES_GCM", "AES_KEY_GEN", "HMAC_SHA256", "RSA_OAEP", "RSA_PSS", "ECDSA", "EDDSA", "ECDH",
          "AES_KEY_WRAP_PAD")) {
        assertTrue(caps.contains(c), c + " in " + m);
      }
      assertTrue(!caps.contains("ECDSA_SHA256") && !caps.contains("RSA_AES_KEY_WRAP"), m.toString());
      assertEquals(new JsonArray().add("SHA-1"), m.getJsonArray("rsaOaepHashes"), "SoftHSM 2.6.1: OAEP with SHA-1 only");
      assertTrue(m.getInteger("mechanismsListed") > 50, m.toString());
      // as pkcs11-tool -M prints SoftHSM2's: AES-GCM, keySize={16,32}; RSA-PKCS-OAEP, keySize={512,16384}
      assertEquals("16-32", m.getJsonObject("keySizes").getString("AES_GCM"), m.toString());
      assertEquals("512-16384", m.getJsonObject("keySizes").getString("RSA_OAEP"), m.toString());

      GatewayProcess.Command listed = gateway.kmsgw("keystore", "list");
      assertEquals(0, listed.exit(), listed.out());
      String list = listed.out();
      String line = list.lines().filter(l -> l.startsWith("default ")).findFirst().orElseThrow(() ->
          new AssertionError(list));
      assertTrue(line.contains("AES_GCM") && line.contains("RSA-OAEP hashes: SHA-1"), list);
      assertTrue(line.contains(m.getInteger("mechanismsListed") + " mechanisms listed"), list);
    }
  }

  @Test
  void tokenWithoutAesGcm_leavesTheStoreFailed_namingTheMechanism_andTheGatewayRunning() throws Exception {
    TestPkcs11Module module = TestPkcs11Module.forChildProcess("mechanisms-hidden");
    module.reset();
    Map<String, String> env = new HashMap<>(module.environment());
    env.put("KMSGW_HSM_LIBRARY", TestPkcs11Module.library().toString());
    try (GatewayProcess gateway = GatewayProcess.start("mechanisms-hidden", env)) {
      // the development token exists now; started again on it, the module hides AES-GCM from discovery
      gateway.stop();
      module.set("hide_mechanisms=CKM_AES_GCM");
      gateway.start(List.of(), false);
      RawClient raw = new RawClient(gateway.endpoint());
      JsonObject failed = null;
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (failed == null && System.nanoTime() < deadline) {
        JsonObject s = store(new JsonObject(raw.healthDetail().body()), "default");
        if ("FAILED".equals(s.getString("state"))) {
          failed = s;
        } else {
          GatewayProcess.sleep(100);
        }
      }
      assertTrue(failed != null, gateway.logText());
      assertEquals("INTERNAL_ERROR", failed.getString("errorCode"));
      String message = failed.getString("message");
      assertTrue(message.contains("AES-GCM: mechanism 0x1087 with encrypt, decrypt"), message);
      assertTrue(!failed.getJsonObject("mechanisms").getJsonArray("capabilities").contains("AES_GCM"),
          failed.toString());
      assertTrue(gateway.logText().contains("mechanism 0x1087"), "the log line names it too");
      assertEquals(503, raw.healthDetail().status(), "unhealthy, not crashed");

      try (software.amazon.awssdk.services.kms.KmsClient kms = gateway.client()) {
        software.amazon.awssdk.services.kms.model.KmsException refused = org.junit.jupiter.api.Assertions.assertThrows(
            software.amazon.awssdk.services.kms.model.KmsException.class, () -> kms.generateRandom(r -> r.numberOfBytes(8)));
        assertTrue(refused.statusCode() >= 400, refused.toString());

        // the token offers it again: the default store connects by itself (a request brings its retry forward)
        module.reset();
        deadline = System.nanoTime() + 60_000_000_000L;
        while (raw.healthDetail().status() != 200 && System.nanoTime() < deadline) {
          try {
            kms.generateRandom(r -> r.numberOfBytes(8));
          } catch (software.amazon.awssdk.services.kms.model.KmsException notYet) {
            GatewayProcess.sleep(200);
          }
        }
      }
      assertEquals(200, raw.healthDetail().status(), gateway.logText());
    }
  }
}
