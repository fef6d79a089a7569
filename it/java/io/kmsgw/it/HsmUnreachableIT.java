package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.KmsException;

/**
 * The gateway with its HSM out of reach: it still starts, reports FAILED with the reason, keeps answering
 * management calls from its metadata, refuses crypto with KMSInvalidStateException, and recovers once the HSM is
 * back.
 */
class HsmUnreachableIT {
  private static GatewayProcess gateway;
  private static String keyId;
  private static SdkBytes blob;

  @BeforeAll
  static void start() {
    gateway = GatewayProcess.start("unreachable");
    try (KmsClient kms = gateway.client()) {
      keyId = kms.createKey(r -> r.description("made while the HSM was up")).keyMetadata().keyId();
      blob = kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String("still here"))).ciphertextBlob();
    }
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.stop();
    }
  }

  private static void assertAwsError(String code, org.junit.jupiter.api.function.Executable call) {
    KmsException e = assertThrows(KmsException.class, call);
    assertEquals(code, e.awsErrorDetails().errorCode(), e.getMessage());
  }

  @Test
  void withTheHsmLibraryMissing_theServiceStartsAndRefusesOnlyWhatNeedsTheHsm() throws Exception {
    gateway.stop();
    Path config = gateway.dataDir().resolveSibling(gateway.dataDir().getFileName() + "-broken.yaml");
    Files.writeString(config, "data_dir: " + gateway.dataDir() + "\n"
        + "hsm:\n  vendor: softhsm2\n  library: /nonexistent/libpkcs11.so\n  token_label: kmsgw\n  pin: '1234'\n"
        + "  reconnect:\n    initial_backoff_ms: 30000\n");
    gateway.start(List.of("--config", config.toString()), false);
    try {
      RawClient.Response health = new RawClient(gateway.endpoint()).healthDetail();
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (!new JsonObject(health.body()).getString("state").equals("FAILED") && System.nanoTime() < deadline) {
        GatewayProcess.sleep(50); // the first attempt may still be under way
        health = new RawClient(gateway.endpoint()).healthDetail();
      }
      assertEquals(503, health.status());
      JsonObject h = new JsonObject(health.body());
      assertEquals("FAILED", h.getString("state"));
      assertEquals("INTERNAL_ERROR", h.getString("errorCode"));
      assertTrue(h.getString("message").contains("/nonexistent/libpkcs11.so"), h.getString("message"));

      try (KmsClient kms = gateway.client()) {
        assertEquals("Unavailable", kms.describeKey(r -> r.keyId(keyId)).keyMetadata().keyStateAsString());
        assertTrue(kms.listKeys().keys().stream().anyMatch(k -> k.keyId().equals(keyId)));
        assertAwsError("KMSInvalidStateException", () -> kms.decrypt(r -> r.ciphertextBlob(blob)));
        assertAwsError("KMSInvalidStateException",
            () -> kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String("x"))));
      }
      String log = gateway.logText();
      assertTrue(log.contains("FAILED [INTERNAL_ERROR]"), "the failure and its reason are logged");
      assertTrue(log.contains("retrying in"), "and it is retried");
    } finally {
      gateway.stop();
    }
    gateway.start();
    try (KmsClient kms = gateway.client()) {
      assertEquals("still here", kms.decrypt(r -> r.ciphertextBlob(blob)).plaintext().asUtf8String());
    }
  }
}
