package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.hsm.pkcs11.SharedModule;
import io.kmsgw.testing.Eventually;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.Slot;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.ConnectionErrorCodeType;
import software.amazon.awssdk.services.kms.model.ConnectionStateType;
import software.amazon.awssdk.services.kms.model.CustomKeyStoresListEntry;
import software.amazon.awssdk.services.kms.model.KeyMetadata;
import software.amazon.awssdk.services.kms.model.KmsInvalidStateException;

/**
 * Two PKCS#11 implementations in one gateway process: the default key store on SoftHSM2 (the development token) and
 * a custom key store on NSS's software token ({@code libsoftokn3.so}, initialised with its database in
 * {@code init_args}), both creating keys and encrypting in the same process. A second cluster on the same NSS library
 * with other {@code init_args}, and one whose library does not exist, fail their connection with a clear error and
 * leave the others working. After the gateway stops, the NSS database is opened from here to see that the custom
 * store's key is there, sensitive and not extractable.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TwoLibrariesIT {
  static final String NSS_CLUSTER = "cluster-nsssoftokenaa";
  static final String OTHER_ARGS_CLUSTER = "cluster-nssotherargsa";
  static final String NO_LIBRARY_CLUSTER = "cluster-nolibraryaaaa";
  static final String NSS_LABEL = "NSS Certificate DB";
  static final String NSS_PIN = "it-Nss-PIN-40417";

  private static GatewayProcess gateway;
  private static KmsClient kms;
  private static Path nssDir;
  private static String nssLibrary;
  private static String nssArgs;
  private static String nssStore;
  private static String nssKey;

  @BeforeAll
  static void start() throws Exception {
    nssLibrary = nssLibrary();
    Path build = Path.of(System.getProperty("kmsgw.build.dir", "target")).toAbsolutePath();
    Files.createDirectories(build);
    nssDir = Files.createTempDirectory(build, "two-libraries-nss");
    createNssDatabase(nssDir, NSS_PIN);
    nssArgs = "configdir='sql:" + nssDir + "' certPrefix='' keyPrefix='' secmod='secmod.db' flags=";
    Path config = Files.createTempFile(build, "two-libraries", ".yaml");
    Files.writeString(config, String.join("\n",
        "hsm:",
        "  dev_token: true",
        "clusters:",
        "  " + NSS_CLUSTER + ":",
        "    vendor: nss",
        "    library: " + nssLibrary,
        "    token_label: \"" + NSS_LABEL + "\"",
        "    init_args: \"" + nssArgs + "\"",
        "    pool:",
        "      size: 2",
        "  " + OTHER_ARGS_CLUSTER + ":",
        "    vendor: nss",
        "    library: " + nssLibrary,
        "    token_label: \"" + NSS_LABEL + "\"",
        "    init_args: \"configdir='sql:" + nssDir.resolveSibling(nssDir.getFileName() + "-other")
            + "' certPrefix='' keyPrefix='' secmod='secmod.db' flags=\"",
        "  " + NO_LIBRARY_CLUSTER + ":",
        "    vendor: nss",
        "    library: /nonexistent/libsoftokn3.so",
        "    token_label: \"" + NSS_LABEL + "\"",
        "    init_args: \"" + nssArgs + "\"",
        ""));
    gateway = GatewayProcess.start("two-libraries",
        dataDir -> Map.of("SOFTHSM2_CONF", dataDir.resolve("softhsm/softhsm2.conf").toString()),
        dataDir -> List.of("--config", config.toString()));
    kms = gateway.client();
  }

  @AfterAll
  static void stop() {
    if (kms != null) {
      kms.close();
    }
    if (gateway != null) {
      gateway.stop();
    }
  }

  /** Debian's NSS software token. */
  static String nssLibrary() {
    return List.of("/usr/lib/x86_64-linux-gnu/libsoftokn3.so", "/usr/lib/aarch64-linux-gnu/libsoftokn3.so",
            "/usr/lib64/libsoftokn3.so").stream().filter(p -> Files.isReadable(Path.of(p))).findFirst()
        .orElseThrow(() -> new IllegalStateException("NSS's libsoftokn3.so is not installed (apt-get install libnss3)"));
  }

  /** A new NSS database with the crypto user PIN set, by NSS's own certutil, as an operator makes one. */
  static void createNssDatabase(Path dir, String pin) throws Exception {
    Path pinFile = dir.resolveSibling(dir.getFileName() + ".pin");
    Files.createFile(pinFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try {
      Files.writeString(pinFile, pin + "\n", StandardCharsets.UTF_8);
      Process p = new ProcessBuilder("certutil", "-N", "-d", "sql:" + dir, "-f", pinFile.toString())
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "certutil -N did not finish");
      assertEquals(0, p.exitValue(), "certutil -N failed (apt-get install libnss3-tools): " + out);
    } finally {
      Files.deleteIfExists(pinFile);
    }
  }

  static CustomKeyStoresListEntry describe(String id) {
    return describe(kms, id);
  }

  static CustomKeyStoresListEntry describe(KmsClient client, String id) {
    return client.describeCustomKeyStores(r -> r.customKeyStoreId(id)).customKeyStores().get(0);
  }

  /** Connects a store that cannot connect: it ends FAILED with INTERNAL_ERROR, and the log gives the reason. */
  static void connectFails(KmsClient client, GatewayProcess process, String store, String reason)
      throws InterruptedException {
    client.connectCustomKeyStore(r -> r.customKeyStoreId(store));
    Eventually.eventually(store + " is FAILED",
        () -> describe(client, store).connectionState() == ConnectionStateType.FAILED);
    assertEquals(ConnectionErrorCodeType.INTERNAL_ERROR, describe(client, store).connectionErrorCode());
    assertTrue(process.logText().contains(reason), "the log says why (" + reason + "):\n" + process.logText());
  }

  static String createStore(String name, String cluster) throws Exception {
    String anchor = Files.readString(gateway.dataDir().resolve("softhsm/trust-anchor.pem"));
    return kms.createCustomKeyStore(r -> r.customKeyStoreName(name).cloudHsmClusterId(cluster)
        .keyStorePassword(NSS_PIN).trustAnchorCertificate(anchor)).customKeyStoreId();
  }

  static byte[] roundTrip(String keyId, String text) {
    byte[] plain = text.getBytes(StandardCharsets.UTF_8);
    SdkBytes blob = kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromByteArray(plain))
        .encryptionContext(Map.of("library", text))).ciphertextBlob();
    byte[] back = kms.decrypt(r -> r.ciphertextBlob(blob).encryptionContext(Map.of("library", text)))
        .plaintext().asByteArray();
    assertArrayEquals(plain, back);
    return blob.asByteArray();
  }

  @Test
  @Order(1)
  void bothLibraries_createKeysAndEncrypt_inOneProcess() throws Exception {
    KeyMetadata defaultKey = kms.createKey(r -> r.description("on SoftHSM2")).keyMetadata();
    assertNull(defaultKey.customKeyStoreId());
    roundTrip(defaultKey.keyId(), "softhsm2 before nss");

    nssStore = createStore("on-nss", NSS_CLUSTER);
    kms.connectCustomKeyStore(r -> r.customKeyStoreId(nssStore));
    Eventually.eventually("the NSS store is CONNECTED",
        () -> describe(nssStore).connectionState() == ConnectionStateType.CONNECTED);
    KeyMetadata onNss = kms.createKey(r -> r.customKeyStoreId(nssStore).origin("AWS_CLOUDHSM")).keyMetadata();
    nssKey = onNss.keyId();
    assertEquals(nssStore, onNss.customKeyStoreId());
    assertEquals(NSS_CLUSTER, onNss.cloudHsmClusterId());

    // interleaved: each key on its own library, in the same process
    for (int i = 0; i < 5; i++) {
      roundTrip(nssKey, "nss " + i);
      roundTrip(defaultKey.keyId(), "softhsm2 " + i);
    }
    byte[] dataKey = kms.generateDataKey(r -> r.keyId(nssKey).keySpec("AES_256")).plaintext().asByteArray();
    assertEquals(32, dataKey.length);

    // the NSS key's ciphertext needs the NSS store: disconnected, it is refused; the default store keeps working
    byte[] blob = roundTrip(nssKey, "needs nss");
    kms.disconnectCustomKeyStore(r -> r.customKeyStoreId(nssStore));
    Eventually.eventually("the NSS store is DISCONNECTED",
        () -> describe(nssStore).connectionState() == ConnectionStateType.DISCONNECTED);
    assertThrows(KmsInvalidStateException.class, () -> kms.decrypt(r -> r.ciphertextBlob(SdkBytes.fromByteArray(blob))
        .encryptionContext(Map.of("library", "needs nss"))));
    roundTrip(defaultKey.keyId(), "softhsm2 while nss is disconnected");
    kms.connectCustomKeyStore(r -> r.customKeyStoreId(nssStore));
    Eventually.eventually("the NSS store is CONNECTED again",
        () -> describe(nssStore).connectionState() == ConnectionStateType.CONNECTED);
    assertArrayEquals("needs nss".getBytes(StandardCharsets.UTF_8), kms.decrypt(r -> r.ciphertextBlob(
        SdkBytes.fromByteArray(blob)).encryptionContext(Map.of("library", "needs nss"))).plaintext().asByteArray());
  }

  @Test
  @Order(2)
  void sameLibraryWithOtherInitArgs_failsClearly_andTheOthersKeepWorking() throws Exception {
    String other = createStore("nss-other-args", OTHER_ARGS_CLUSTER);
    connectFails(kms, gateway, other, "already initialised in this process with other init_args");
    String missing = createStore("nss-no-library", NO_LIBRARY_CLUSTER);
    connectFails(kms, gateway, missing, "PKCS#11 library not found: /nonexistent/libsoftokn3.so");

    roundTrip(nssKey, "nss after the failures");
    roundTrip(kms.createKey(r -> r.description("after")).keyMetadata().keyId(), "softhsm2 after the failures");
    for (String id : List.of(other, missing)) {
      kms.disconnectCustomKeyStore(r -> r.customKeyStoreId(id));
      kms.deleteCustomKeyStore(r -> r.customKeyStoreId(id));
    }
  }

  /** Read from outside the gateway, after it stopped: the key is in NSS's database, under NSS's custody rules. */
  @Test
  @Order(3)
  void theNssKey_isInTheNssDatabase_sensitiveAndNotExtractable() throws Exception {
    gateway.stop();
    SharedModule module = SharedModule.of(nssLibrary, nssArgs);
    List<AttributeVector> keys = new ArrayList<>();
    try (SharedModule.Usage inside = module.enter()) {
      Slot slot = null;
      for (Slot s : module.module().getSlotList(true)) {
        if (NSS_LABEL.equals(s.getToken().getTokenInfo().getLabel().trim())) {
          slot = s;
        }
      }
      assertTrue(slot != null, "NSS shows its key token");
      Session session = slot.getToken().openSession(false);
      try {
        session.login(PKCS11Constants.CKU_USER, NSS_PIN.toCharArray());
        session.findObjectsInit(new AttributeVector().class_(PKCS11Constants.CKO_SECRET_KEY).token(true));
        long[] handles;
        try {
          handles = session.findObjects(100);
        } finally {
          session.findObjectsFinal();
        }
        for (long h : handles) {
          keys.add(session.getAttrValues(h, PKCS11Constants.CKA_SENSITIVE, PKCS11Constants.CKA_EXTRACTABLE,
              PKCS11Constants.CKA_PRIVATE, PKCS11Constants.CKA_KEY_TYPE));
        }
        session.logout();
      } finally {
        session.closeSession();
      }
    }
    assertFalse(keys.isEmpty(), "the custom key store's AES key is a token object in the NSS database");
    for (AttributeVector a : keys) {
      assertEquals(Long.valueOf(PKCS11Constants.CKK_AES), a.keyType());
      assertTrue(a.sensitive(), "CKA_SENSITIVE");
      assertFalse(a.extractable(), "CKA_EXTRACTABLE");
      assertTrue(a.private_(), "CKA_PRIVATE");
    }
  }
}
