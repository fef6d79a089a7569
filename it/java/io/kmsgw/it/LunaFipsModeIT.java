package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestPkcs11Module;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.KmsException;

/**
 * The real gateway on kmsgw's PKCS#11 test module in Thales Luna FIPS mode ({@code vendor=luna-fips}: with HSM policy
 * 12, "Allow non-FIPS algorithms", off, Luna generates the AES-GCM IV and appends it to the output), driven by the AWS
 * SDK. kmsgw cannot seal with that layout, whatever {@code gcm_iv_from_hsm} says: an Encrypt that meets it is refused
 * with a message naming Luna and policy 12 and no ciphertext leaves the gateway, and a store that connects to it is
 * FAILED by the connection's self-test, with a message naming the flag.
 */
class LunaFipsModeIT {
  private static final String PLAINTEXT = "sixteen bytes or more, sealed before Luna's FIPS mode";

  private static Map<String, String> env(TestPkcs11Module module, boolean ivFromHsm) {
    Map<String, String> env = new HashMap<>(module.environment());
    env.put("KMSGW_HSM_LIBRARY", TestPkcs11Module.library().toString());
    env.put("KMSGW_HSM_CAPABILITIES_GCM_IV_FROM_HSM", Boolean.toString(ivFromHsm));
    return env;
  }

  private static void assertNamesLunaAndPolicy12(String message) {
    assertTrue(message.contains("Luna") && message.contains("policy 12"), message);
  }

  @Test
  void flagOn_encryptOnLunaFipsMode_isRefusedNamingPolicy12_andAStartOnItLeavesTheStoreFailed() throws Exception {
    TestPkcs11Module module = TestPkcs11Module.forChildProcess("luna-fips-on");
    module.reset().set("gcm_iv=hsm"); // an HSM that writes its IV into pIv, as the flag says
    try (GatewayProcess gateway = GatewayProcess.start("luna-fips-on", env(module, true));
        KmsClient kms = gateway.clientWithoutRetries()) {
      String keyId = kms.createKey(r -> r.description("before Luna's FIPS mode")).keyMetadata().keyId();
      SdkBytes before = kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String(PLAINTEXT)))
          .ciphertextBlob();

      // the HSM now appends its IV instead (Luna with policy 12 off), while the gateway runs
      module.set("vendor=luna-fips");
      module.clearEvents();
      KmsException e = assertThrows(KmsException.class,
          () -> kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String(PLAINTEXT))));
      assertEquals("KMSInternalException", e.awsErrorDetails().errorCode(), e.toString());
      assertNamesLunaAndPolicy12(e.awsErrorDetails().errorMessage());
      KmsException dataKey = assertThrows(KmsException.class,
          () -> kms.generateDataKey(r -> r.keyId(keyId).numberOfBytes(32)));
      assertNamesLunaAndPolicy12(dataKey.awsErrorDetails().errorMessage());
      assertEquals(2, module.events("gcm_iv appended").size(),
          "the HSM did encrypt twice; the gateway handed out neither output: " + module.events());
      assertEquals(PLAINTEXT, kms.decrypt(r -> r.ciphertextBlob(before)).plaintext().asUtf8String(),
          "Luna opens with the IV in the blob");

      // started again on it: the connection's self-test finds Luna's FIPS mode
      gateway.stop();
      gateway.start(List.of(), false);
      JsonObject failed = failedDefaultStore(gateway);
      assertNamesLunaAndPolicy12(failed.getString("message"));
      assertTrue(failed.getString("message").contains("gcm_iv_from_hsm"), failed.toString());
      assertRefused(kms, keyId);
    }
  }

  @Test
  void flagOff_aStartOnLunaFipsMode_leavesTheStoreFailed_namingTheFlag() throws Exception {
    TestPkcs11Module module = TestPkcs11Module.forChildProcess("luna-fips-off");
    module.reset(); // caller IVs, as the flag says
    try (GatewayProcess gateway = GatewayProcess.start("luna-fips-off", env(module, false));
        KmsClient kms = gateway.clientWithoutRetries()) {
      String keyId = kms.createKey(r -> r.description("before Luna's FIPS mode")).keyMetadata().keyId();
      gateway.stop();
      module.set("vendor=luna-fips");
      gateway.start(List.of(), false);
      JsonObject failed = failedDefaultStore(gateway);
      String message = failed.getString("message");
      assertTrue(message.contains("gcm_iv_from_hsm"), message);
      assertNamesLunaAndPolicy12(message);
      assertFalse(message.contains("GCM_IV_FROM_HSM=true"), "turning the flag on would not help: " + message);
      assertTrue(gateway.logText().contains("policy 12"), "the FAILED log line says it too");
      assertRefused(kms, keyId);
    }
  }

  private static void assertRefused(KmsClient kms, String keyId) {
    KmsException e = assertThrows(KmsException.class,
        () -> kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String(PLAINTEXT))));
    assertTrue(e.statusCode() >= 400, e.toString());
  }

  /** The default store's health entry once it is FAILED (the gateway answers, unhealthy). */
  private static JsonObject failedDefaultStore(GatewayProcess gateway) throws Exception {
    RawClient raw = new RawClient(gateway.endpoint());
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (System.nanoTime() < deadline) {
      JsonObject health = new JsonObject(raw.healthDetail().body());
      JsonObject store = health.getJsonArray("keyStores").stream().map(JsonObject.class::cast)
          .filter(h -> "default".equals(h.getString("keyStore"))).findFirst().orElseThrow();
      if ("FAILED".equals(store.getString("state"))) {
        assertEquals(503, raw.healthDetail().status(), "unhealthy, not crashed");
        return store;
      }
      GatewayProcess.sleep(100);
    }
    throw new AssertionError("the default store did not fail:\n" + gateway.logText());
  }
}
