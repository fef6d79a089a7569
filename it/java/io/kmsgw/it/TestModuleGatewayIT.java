package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestPkcs11Module;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.KmsException;

/**
 * The real gateway in development mode with kmsgw's PKCS#11 test module between it and its SoftHSM2 token
 * ({@code KMSGW_HSM_LIBRARY}, no other change), driven by the AWS SDK: it serves through the module, and a fault the
 * module injects while it runs reaches the client as a retryable error, after which the store recovers by itself.
 */
class TestModuleGatewayIT {
  private static TestPkcs11Module module;
  private static GatewayProcess gateway;

  @BeforeAll
  static void start() {
    module = TestPkcs11Module.forChildProcess("gateway-it");
    module.reset();
    Map<String, String> env = new HashMap<>(module.environment());
    env.put("KMSGW_HSM_LIBRARY", TestPkcs11Module.library().toString());
    gateway = GatewayProcess.start("testmodule", env);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.stop();
    }
  }

  @Test
  void developmentMode_servesThroughTheModule() {
    try (KmsClient kms = gateway.client()) {
      String keyId = kms.createKey(r -> r.description("through the test module")).keyMetadata().keyId();
      SdkBytes blob = kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String("forwarded")))
          .ciphertextBlob();
      assertEquals("forwarded", kms.decrypt(r -> r.ciphertextBlob(blob)).plaintext().asUtf8String());
    }
    assertTrue(module.events().stream().anyMatch(l -> l.startsWith("target ") && l.contains("softhsm")),
        module.events().toString());
  }

  @Test
  void injectedDeviceError_isARetryableError_andTheStoreRecoversByItself() throws Exception {
    try (KmsClient kms = gateway.clientWithoutRetries()) {
      String keyId = kms.createKey(r -> r.description("before the fault")).keyMetadata().keyId();
      SdkBytes blob = kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String("kept"))).ciphertextBlob();

      module.set("fail.C_Encrypt=CKR_DEVICE_ERROR times=1");
      KmsException e = assertThrows(KmsException.class,
          () -> kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String("during the fault"))));
      assertTrue(Set.of("KeyUnavailableException", "KMSInternalException", "ThrottlingException")
          .contains(e.awsErrorDetails().errorCode()), e.awsErrorDetails().errorCode() + ": " + e.getMessage());
      assertEquals(500, e.statusCode());
      assertFalse(module.events("fail C_Encrypt").isEmpty());

      SdkBytes after = null;
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (after == null && System.nanoTime() < deadline) {
        try {
          after = kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String("after"))).ciphertextBlob();
        } catch (KmsException retry) {
          GatewayProcess.sleep(200);
        }
      }
      assertTrue(after != null, "the store reconnected by itself:\n" + gateway.logText());
      assertEquals("kept", kms.decrypt(r -> r.ciphertextBlob(blob)).plaintext().asUtf8String());
    }
  }
}
