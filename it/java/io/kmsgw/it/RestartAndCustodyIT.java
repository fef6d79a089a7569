package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The gateway's promises across restarts: old ciphertext still decrypts, keys acknowledged before a SIGKILL are
 * still there, and the token's key objects are non-extractable (read back with OpenSC's pkcs11-tool).
 */
class RestartAndCustodyIT {
  private static GatewayProcess gateway;

  @BeforeAll
  static void start() {
    gateway = GatewayProcess.start("restart");
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.stop();
    }
  }

  @Test
  void ciphertextFromBeforeARestart_stillDecrypts() {
    SdkBytes blob;
    String keyId;
    try (KmsClient kms = gateway.client()) {
      keyId = kms.createKey(r -> r.description("survives restarts")).keyMetadata().keyId();
      blob = kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String("written before the restart"))
          .encryptionContext(Map.of("k", "v"))).ciphertextBlob();
    }
    gateway.stop();
    gateway.start();
    try (KmsClient kms = gateway.client()) {
      assertEquals("written before the restart",
          kms.decrypt(r -> r.ciphertextBlob(blob).encryptionContext(Map.of("k", "v"))).plaintext().asUtf8String());
      assertEquals("Enabled", kms.describeKey(r -> r.keyId(keyId)).keyMetadata().keyStateAsString());
    }
  }

  @Test
  void keysAcknowledgedBeforeSigkill_surviveAndNothingHalfMadeRemains() throws Exception {
    ConcurrentLinkedQueue<String> acknowledged = new ConcurrentLinkedQueue<>();
    ExecutorService clients = Executors.newFixedThreadPool(4);
    try (KmsClient kms = gateway.client()) {
      for (int t = 0; t < 4; t++) {
        clients.submit(() -> {
          for (int i = 0; i < 200; i++) {
            try {
              acknowledged.add(kms.createKey(r -> r.description("storm")).keyMetadata().keyId());
            } catch (RuntimeException e) {
              return; // the gateway is gone
            }
          }
        });
      }
      while (acknowledged.size() < 20) {
        GatewayProcess.sleep(5);
      }
      gateway.kill();
      clients.shutdown();
      assertTrue(clients.awaitTermination(60, TimeUnit.SECONDS));
    }
    gateway.start();
    try (KmsClient kms = gateway.client()) {
      for (String id : acknowledged) {
        assertEquals("Enabled", kms.describeKey(r -> r.keyId(id)).keyMetadata().keyStateAsString(), id);
        kms.encrypt(r -> r.keyId(id).plaintext(SdkBytes.fromUtf8String("usable")));
      }
    }
    String log = gateway.logText();
    Matcher m = Pattern.compile("reconcile default: (\\d+) keys, (\\d+) HSM objects; rolled back (\\d+), missing material (\\d+), orphans (\\d+)")
        .matcher(log);
    String last = null;
    while (m.find()) {
      last = m.group();
      assertEquals("0", m.group(4), "no key lost its material: " + m.group());
    }
    assertTrue(last != null, "reconciliation ran at start");
    Matcher lastMatch = Pattern.compile("orphans (\\d+)").matcher(last);
    assertTrue(lastMatch.find());
    // an acknowledged key always has its object; an object without metadata can only come from a
    // CreateKey whose HSM write happened after its row was rolled back, which the ordering rules out
    assertEquals("0", lastMatch.group(1), last);
  }

  @Test
  void tokenObjects_areSensitiveAndNeverExtractable() throws Exception {
    try (KmsClient kms = gateway.client()) {
      kms.createKey(r -> r.description("custody"));
    }
    gateway.stop();
    try {
      String out = Pkcs11Tool.listSecretKeys(gateway.dataDir(), "kmsgw");
      List<String> objects = new ArrayList<>();
      for (String block : out.split("Secret Key Object")) {
        if (block.contains("label:") && block.contains("kmsgw:")) {
          objects.add(block);
        }
      }
      assertFalse(objects.isEmpty(), out);
      for (String o : objects) {
        assertTrue(o.contains("AES length 32"), o);
        assertTrue(o.contains("sensitive, always sensitive, never extractable"), o);
        assertFalse(o.contains("wrap") || o.contains("sign") || o.contains("derive"), "only encrypt/decrypt: " + o);
      }
    } finally {
      gateway.start();
    }
  }
}
