package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * NSS's software token given bad parameters, through the real gateway process: a parameter string without
 * {@code configdir} (on which NSS dereferences a null pointer and takes the process down) is refused when the
 * configuration loads, before the library is touched; a {@code configdir} NSS cannot open fails that key store's
 * connection with a reason in the log and the store's ConnectionErrorCode, and the gateway and its other store keep
 * working. Never a JVM crash.
 */
class NssBadInitArgsIT {
  static final Path BUILD = Path.of(System.getProperty("kmsgw.build.dir", "target")).toAbsolutePath();

  /** {@code ./kmsgw serve} with this configuration, expected to exit by itself: its exit status and output. */
  static GatewayProcess.Command serveExpectingExit(Path config) throws Exception {
    Path dataDir = Files.createTempDirectory(BUILD, "nss-bad-args-data");
    ProcessBuilder pb = new ProcessBuilder(
        Path.of(System.getProperty("kmsgw.project.dir", ".")).resolve("kmsgw").toAbsolutePath().toString(),
        "serve", "--config", config.toString())
        .directory(dataDir.toFile())
        .redirectErrorStream(true);
    pb.environment().remove("SOFTHSM2_CONF");
    pb.environment().put("KMSGW_DATA_DIR", dataDir.toString());
    pb.environment().put("KMSGW_HTTP_PORT", "0");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("the gateway kept running with a configuration it should refuse:\n" + out);
    }
    try (Stream<Path> files = Files.list(dataDir)) {
      assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith("hs_err")),
          "the JVM crashed (hs_err file in " + dataDir + "):\n" + out);
    }
    return new GatewayProcess.Command(p.exitValue(), out);
  }

  @ParameterizedTest
  @ValueSource(strings = {"certPrefix='' keyPrefix='' secmod='secmod.db' flags=", "configdir='' flags=",
      "flags=readOnly"})
  void initArgsWithoutConfigdir_areRefusedAtLoad_beforeNssCanCrash(String initArgs) throws Exception {
    Path config = Files.createTempFile(BUILD, "nss-no-configdir", ".yaml");
    Files.writeString(config, String.join("\n",
        "hsm:",
        "  vendor: nss",
        "  library: " + TwoLibrariesIT.nssLibrary(),
        "  token_label: \"NSS Certificate DB\"",
        "  pin: it-not-used-1",
        "  init_args: \"" + initArgs + "\"",
        ""));
    GatewayProcess.Command r = serveExpectingExit(config);
    assertNotEquals(0, r.exit(), r.out());
    assertTrue(r.out().contains("hsm.init_args") && r.out().contains("configdir"),
        "the refusal names the key and what is missing:\n" + r.out());
    assertFalse(r.out().contains("SIGSEGV") || r.out().contains("A fatal error has been detected"), r.out());
    assertFalse(r.out().contains("it-not-used-1"), "the PIN is not echoed");
  }

  @Test
  void aConfigdirNssCannotOpen_failsThatStore_withTheReason_andTheGatewayKeepsServing() throws Exception {
    // a directory under a regular file: it cannot exist, and nobody (root included) can create it
    Path file = Files.createTempFile(BUILD, "nss-not-a-directory", ".txt");
    Path config = Files.createTempFile(BUILD, "nss-bad-configdir", ".yaml");
    String cluster = "cluster-nssbadconfigd";
    Files.writeString(config, String.join("\n",
        "hsm:",
        "  dev_token: true",
        "clusters:",
        "  " + cluster + ":",
        "    vendor: nss",
        "    library: " + TwoLibrariesIT.nssLibrary(),
        "    token_label: \"NSS Certificate DB\"",
        "    init_args: \"configdir='sql:" + file.resolve("nss") + "' certPrefix='' keyPrefix='' flags=\"",
        ""));
    try (GatewayProcess gateway = GatewayProcess.start("nss-bad-configdir",
        dataDir -> Map.of("SOFTHSM2_CONF", dataDir.resolve("softhsm/softhsm2.conf").toString()),
        dataDir -> List.of("--config", config.toString()));
        KmsClient kms = gateway.client()) {
      String anchor = Files.readString(gateway.dataDir().resolve("softhsm/trust-anchor.pem"));
      String store = kms.createCustomKeyStore(r -> r.customKeyStoreName("nss-bad-configdir")
          .cloudHsmClusterId(cluster).keyStorePassword("it-Nss-PIN-0001").trustAnchorCertificate(anchor))
          .customKeyStoreId();
      TwoLibrariesIT.connectFails(kms, gateway, store, "NSS cannot open the database named by configdir");
      assertFalse(gateway.logText().contains("it-Nss-PIN-0001"), "the key store password is not logged");

      // the process is alive and its default store (SoftHSM2) serves
      String key = kms.createKey(r -> r.description("after the NSS failure")).keyMetadata().keyId();
      byte[] plain = "still serving".getBytes(StandardCharsets.UTF_8);
      SdkBytes blob = kms.encrypt(r -> r.keyId(key).plaintext(SdkBytes.fromByteArray(plain))).ciphertextBlob();
      assertArrayEquals(plain, kms.decrypt(r -> r.ciphertextBlob(blob)).plaintext().asByteArray());

      // and it can try again (the same library, the same parameters) without crashing
      kms.disconnectCustomKeyStore(r -> r.customKeyStoreId(store));
      TwoLibrariesIT.connectFails(kms, gateway, store, "NSS cannot open the database named by configdir");
    }
  }
}
