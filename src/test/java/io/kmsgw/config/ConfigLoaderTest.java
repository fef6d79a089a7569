package io.kmsgw.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @TempDir
  Path dir;

  private Path yaml(String content) throws IOException {
    Path f = dir.resolve("kmsgw.yaml");
    Files.writeString(f, content);
    return f;
  }

  @Test
  void load_withoutFileOrEnvironment_isDevelopmentModeOnLoopback() {
    GatewayConfig c = ConfigLoader.load(null, Map.of());
    assertEquals(Path.of("./data"), c.dataDir());
    assertEquals("us-east-1", c.region());
    assertEquals("111122223333", c.accountId());
    assertEquals("127.0.0.1", c.http().host());
    assertEquals(8400, c.http().port());
    assertTrue(c.hsm().devToken());
    assertEquals(VendorProfile.SOFTHSM2, c.hsm().vendor());
    assertTrue(c.hsm().gcmGeneralErrorOnTagMismatch(), "SoftHSM2 quirk flag comes from its profile");
    assertNull(c.admin().accessKeyId());
  }

  @Test
  void load_environmentOverridesFileOverridesDefault() throws IOException {
    Path f = yaml("region: eu-west-1\nhttp:\n  port: 9000\nhsm:\n  pin: '1234'\n  pool:\n    size: 3\n");
    GatewayConfig c = ConfigLoader.load(f, Map.of("KMSGW_HTTP_PORT", "9100", "KMSGW_ACCOUNT_ID", "444455556666"));
    assertEquals("eu-west-1", c.region());
    assertEquals(9100, c.http().port());
    assertEquals("444455556666", c.accountId());
    assertEquals(3, c.hsm().poolSize());
    assertFalse(c.hsm().devToken(), "a configuration file means a real token, not the development one");
  }

  @Test
  void connectionLimits_haveServerDefaults_andComeFromFileOrEnvironment() throws IOException {
    GatewayConfig.Connections d = ConfigLoader.load(null, Map.of()).http().connections();
    assertEquals(new GatewayConfig.Connections(75_000, 20_000, 4096), d);
    assertEquals(java.util.List.of(), ConfigLoader.load(null, Map.of()).http().hostnames(), "no Host check by default");
    Path f = yaml("http:\n  idle_timeout_ms: 30000\n  request_timeout_ms: 5000\n  max_connections: 100\n"
        + "  hostnames: 'KMS.example.com, [::1]:8400'\nhsm:\n  pin: '1'\n");
    GatewayConfig c = ConfigLoader.load(f, Map.of("KMSGW_HTTP_MAX_CONNECTIONS", "200"));
    assertEquals(new GatewayConfig.Connections(30_000, 5_000, 200), c.http().connections());
    assertEquals(java.util.List.of("kms.example.com", "[::1]:8400"), c.http().hostnames());
  }

  @Test
  void connectionLimits_outOfRangeOrMalformed_areRefusedByKey() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(null, Map.of(
        "KMSGW_HTTP_IDLE_TIMEOUT_MS", "0", "KMSGW_HTTP_REQUEST_TIMEOUT_MS", "ten", "KMSGW_HTTP_MAX_CONNECTIONS", "0",
        "KMSGW_HTTP_HOSTNAMES", "kms.example.com, bad host/")));
    assertTrue(e.getMessage().contains("http.idle_timeout_ms: must be between"), e.getMessage());
    assertTrue(e.getMessage().contains("http.request_timeout_ms: not a whole number"), e.getMessage());
    assertTrue(e.getMessage().contains("http.max_connections: must be between"), e.getMessage());
    assertTrue(e.getMessage().contains("http.hostnames: 'bad host/' is not a host name"), e.getMessage());
  }

  @Test
  void poolSize_defaultsPerVendor() throws IOException {
    int cores = Runtime.getRuntime().availableProcessors();
    assertEquals(Math.max(2, 2 * cores), ConfigLoader.load(null, Map.of()).hsm().poolSize());
    Path f = yaml("hsm:\n  vendor: luna\n  library: /opt/luna/lib.so\n  pin: '1'\n");
    assertEquals(16, ConfigLoader.load(f, Map.of()).hsm().poolSize(), "a network HSM needs calls in flight");
    assertTrue(ConfigLoader.load(null, Map.of()).hsm().sessionKeyCopies());
    assertFalse(ConfigLoader.load(f, Map.of()).hsm().sessionKeyCopies(), "not tried on hardware");
  }

  @Test
  void devClockOffset_isRefusedOutsideDevelopmentMode() throws IOException {
    assertEquals(8, ConfigLoader.load(null, Map.of("KMSGW_DEV_CLOCK_OFFSET_DAYS", "8")).devClockOffsetDays());
    Path f = yaml("hsm:\n  vendor: softhsm2\n  pin: '1234'\n");
    ConfigException e = assertThrows(ConfigException.class,
        () -> ConfigLoader.load(f, Map.of("KMSGW_DEV_CLOCK_OFFSET_DAYS", "8")));
    assertTrue(e.getMessage().contains("dev.clock_offset_days"), e.getMessage());
  }

  @Test
  void accounts_areReadFromTheFile_withFieldsFromTheEnvironment_andCheckedWithoutQuotingSecrets() throws IOException {
    Path f = yaml("hsm:\n  pin: '1234'\naccounts:\n  444455556666:\n    access_key_id: AKIAPARTNERROOT00001\n"
        + "    secret_access_key: partner-secret-0000000000\n  777788889999:\n");
    GatewayConfig c = ConfigLoader.load(f, Map.of("KMSGW_ACCOUNTS_444455556666_ACCESS_KEY_ID", "AKIAFROMTHEENV000001"));
    assertEquals(2, c.accounts().size());
    GatewayConfig.Account partner = c.accounts().get(0);
    assertEquals("444455556666", partner.id());
    assertEquals("AKIAFROMTHEENV000001", partner.accessKeyId());
    assertEquals("partner-secret-0000000000", partner.secretAccessKey());
    assertFalse(partner.toString().contains("partner-secret"));
    assertNull(c.accounts().get(1).accessKeyId(), "neither key nor secret: generated at start");
    Path bad = yaml("hsm:\n  pin: '1234'\naccounts:\n  12345:\n    access_key_id: AKIAPARTNERROOT00001\n  111122223333: {}\n"
        + "  444455556666:\n    access_key_id: AKIAPARTNERROOT00001\n    colour: blue\n");
    // the other mistakes of that file are reported too
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(bad, Map.of()));
    assertTrue(e.getMessage().contains("accounts.444455556666.colour"), e.getMessage());
    Path noSecret = yaml("hsm:\n  pin: '1234'\naccounts:\n  444455556666:\n    access_key_id: AKIAPARTNERROOT00001\n"
        + "  111122223333:\n  12345:\n");
    e = assertThrows(ConfigException.class, () -> ConfigLoader.load(noSecret, Map.of()));
    assertTrue(e.getMessage().contains("accounts.12345: an account id is 12 digits"), e.getMessage());
    assertTrue(e.getMessage().contains("accounts.111122223333: this is the default account"), e.getMessage());
    assertTrue(e.getMessage().contains("accounts.444455556666: set access_key_id with"), e.getMessage());
  }

  @Test
  void keyQuota_defaultsToAwsDefault() {
    assertEquals(1000, ConfigLoader.load(null, Map.of()).keyQuota());
    assertEquals(5, ConfigLoader.load(null, Map.of("KMSGW_LIMITS_KEYS_PER_ACCOUNT", "5")).keyQuota());
  }

  @Test
  void envName_isThePathUpperCasedWithUnderscores() {
    assertEquals("KMSGW_HSM_POOL_SIZE", ConfigLoader.envName("hsm.pool.size"));
    assertEquals("KMSGW_ADMIN_SECRET_ACCESS_KEY", ConfigLoader.envName("admin.secret_access_key"));
  }

  @Test
  void load_unknownKey_isRefused() throws IOException {
    Path f = yaml("hsm:\n  pool:\n    sise: 3\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()));
    assertTrue(e.getMessage().contains("hsm.pool.sise"), e.getMessage());
  }

  @Test
  void load_nonLoopbackHostWithoutTls_isRefused() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> ConfigLoader.load(null, Map.of("KMSGW_HTTP_HOST", "0.0.0.0")));
    assertTrue(e.getMessage().contains("plain HTTP"), e.getMessage());
    assertThrows(ConfigException.class, () -> ConfigLoader.load(null, Map.of("KMSGW_HTTP_HOST", "example.com")));
  }

  @Test
  void load_loopbackAddresses_areAllowedOverHttp() {
    for (String host : new String[] {"127.0.0.1", "127.0.0.2", "::1", "localhost"}) {
      assertEquals(host, ConfigLoader.load(null, Map.of("KMSGW_HTTP_HOST", host)).http().host());
    }
  }

  @Test
  void load_nonLoopbackHostWithTls_isAccepted() {
    GatewayConfig c = ConfigLoader.load(null, Map.of("KMSGW_HTTP_HOST", "0.0.0.0",
        "KMSGW_HTTP_TLS_CERTIFICATE_FILE", "/etc/kmsgw/cert.pem", "KMSGW_HTTP_TLS_PRIVATE_KEY_FILE", "/etc/kmsgw/key.pem"));
    assertTrue(c.http().tls());
    assertEquals("https://0.0.0.0:8400", c.http().endpoint());
  }

  @Test
  void load_onlyHalfOfTheAdminKey_isRefused() {
    assertThrows(ConfigException.class,
        () -> ConfigLoader.load(null, Map.of("KMSGW_ADMIN_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")));
  }

  @Test
  void load_realHsmWithoutPin_isRefused() throws IOException {
    Path f = yaml("hsm:\n  vendor: luna\n  library: /opt/luna/lib.so\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()));
    assertTrue(e.getMessage().contains("PIN"), e.getMessage());
  }

  @Test
  void load_vendorWhoseHsmGeneratesGcmIvs_isAccepted_withTheFlagFromItsProfile() throws IOException {
    Path f = yaml("hsm:\n  vendor: cloudhsm\n  library: /opt/cloudhsm/lib/libcloudhsm_pkcs11.so\n  pin: 'cu:pw'\n");
    GatewayConfig c = ConfigLoader.load(f, Map.of());
    assertTrue(c.hsm().gcmIvFromHsm());
  }

  @Test
  void load_gcmIvFromHsm_isSetByItsEnvironmentVariable() throws IOException {
    Path f = yaml("hsm:\n  pin: '1234'\n");
    assertFalse(ConfigLoader.load(f, Map.of()).hsm().gcmIvFromHsm());
    assertTrue(ConfigLoader.load(f, Map.of("KMSGW_HSM_CAPABILITIES_GCM_IV_FROM_HSM", "true")).hsm().gcmIvFromHsm());
    ConfigException e = assertThrows(ConfigException.class,
        () -> ConfigLoader.load(f, Map.of("KMSGW_HSM_CAPABILITIES_GCM_IV_FROM_HSM", "yes please")));
    assertTrue(e.getMessage().contains("gcm_iv_from_hsm"), e.getMessage());
  }

  @Test
  void load_yubiHsm2_loads_itsLackOfAesGcmIsFoundAtConnection() throws IOException {
    // whether a token has CKM_AES_GCM is read from the token (MechanismCheck), not assumed from the vendor's name
    Path f = yaml("hsm:\n  vendor: yubihsm2\n  library: /usr/lib/yubihsm_pkcs11.so\n  pin: '0001password'\n");
    assertEquals(VendorProfile.YUBIHSM2, ConfigLoader.load(f, Map.of()).hsm().vendor());
  }

  @Test
  void load_badNumbers_areReportedByKey() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> ConfigLoader.load(null, Map.of("KMSGW_HTTP_PORT", "eighty", "KMSGW_HSM_POOL_SIZE", "0")));
    assertTrue(e.getMessage().contains("http.port") && e.getMessage().contains("hsm.pool.size"), e.getMessage());
  }

  @Test
  void yamlScalars_stayAsWritten() throws IOException {
    Path f = yaml("hsm:\n  pin: 0123\n  token_label: 12_34\n  pool:\n    size: 010\n");
    GatewayConfig c = ConfigLoader.load(f, Map.of());
    assertEquals("0123", c.hsm().pin(), "not octal 83");
    assertEquals("12_34", c.hsm().tokenLabel());
    assertEquals(10, c.hsm().poolSize(), "decimal, not octal 8");
  }

  @Test
  void invalidYaml_isReportedByPositionWithoutItsText() throws IOException {
    Path f = yaml("hsm:\n  pin: \"s3cr3t-PIN\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()));
    assertFalse(e.getMessage().contains("s3cr3t"), e.getMessage());
    assertTrue(e.getMessage().contains("line"), e.getMessage());
  }

  @Test
  void duplicateKeys_areRefused() throws IOException {
    Path f = yaml("region: us-east-1\nregion: eu-west-1\n");
    assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()));
  }

  @Test
  void loopbackCheck_neverResolvesNames() {
    assertFalse(ConfigLoader.isLoopback("127.0.0.1."));
    assertFalse(ConfigLoader.isLoopback("127.1"));
    assertTrue(ConfigLoader.isLoopback("::1"));
    assertFalse(ConfigLoader.isLoopback("::"));
  }

  @Test
  void adminToString_neverShowsTheSecret() {
    GatewayConfig c = ConfigLoader.load(null, Map.of("KMSGW_ADMIN_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE",
        "KMSGW_ADMIN_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
    assertFalse(c.toString().contains("wJalrXUtnFEMI"), c.toString());
  }

  @Test
  void shippedTemplates_useOnlyKnownKeys() throws IOException {
    try (var files = Files.list(Path.of("hsm-config"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
        try {
          ConfigLoader.load(f, Map.of());
        } catch (ConfigException e) {
          assertFalse(e.getMessage().contains("unknown configuration keys"), f + ": " + e.getMessage());
        }
      }
    }
  }

  @Test
  void developmentMode_definesTheSecondTokenAsACluster() {
    GatewayConfig c = ConfigLoader.load(null, Map.of());
    assertEquals(1, c.clusters().size());
    HsmDefinition dev = c.clusters().get(0);
    assertEquals(HsmDefinitions.DEV_CLUSTER_ID, dev.id());
    assertEquals("kmsgw-dev-2", dev.tokenLabel());
    assertEquals(c.hsm().library(), dev.library());
    assertTrue(dev.devToken());
    assertTrue(dev.id().matches(HsmDefinition.ID_PATTERN));
  }

  @Test
  void clusters_fromTheFile_withEnvironmentOverrides() throws IOException {
    Path f = yaml("hsm:\n  pin: '1234'\nclusters:\n  cluster-lunahagroup2:\n    vendor: luna\n"
        + "    library: /opt/luna/lib.so\n    token_label: ha-1\n    min_hsms: 2\n    auto_reconnect: true\n"
        + "  cluster-softhsmtwo2:\n    token_label: second\n    pool:\n      size: 3\n");
    GatewayConfig c = ConfigLoader.load(f, Map.of("KMSGW_CLUSTERS_CLUSTER_LUNAHAGROUP2_TOKEN_LABEL", "ha-2"));
    assertEquals(2, c.clusters().size(), "no development cluster with a configuration file");
    HsmDefinition luna = c.clusters().stream().filter(d -> d.id().equals("cluster-lunahagroup2")).findFirst()
        .orElseThrow();
    assertEquals(VendorProfile.LUNA, luna.vendor());
    assertEquals("ha-2", luna.tokenLabel(), "the environment wins over the file");
    assertEquals(2, luna.minHsms());
    assertTrue(luna.autoReconnect());
    assertEquals(16, luna.poolSize(), "the vendor's default pool size");
    HsmDefinition soft = c.clusters().stream().filter(d -> d.id().equals("cluster-softhsmtwo2")).findFirst()
        .orElseThrow();
    assertEquals(3, soft.poolSize());
    assertFalse(soft.autoReconnect(), "as AWS: a FAILED custom key store waits for Disconnect then Connect");
    assertTrue(soft.gcmGeneralErrorOnTagMismatch(), "SoftHSM2's profile");
  }

  @Test
  void clusters_badIdsAndFieldsAreRefused() throws IOException {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(yaml(
        "hsm:\n  pin: '1'\nclusters:\n  mycluster:\n    token_label: x\n"), Map.of()));
    assertTrue(e.getMessage().contains("cluster id"), e.getMessage());
    e = assertThrows(ConfigException.class, () -> ConfigLoader.load(yaml(
        "hsm:\n  pin: '1'\nclusters:\n  cluster-softhsmtwo2:\n    token_label: x\n    pin: '1234'\n"), Map.of()));
    assertTrue(e.getMessage().contains("clusters.cluster-softhsmtwo2.pin"), e.getMessage());
    e = assertThrows(ConfigException.class, () -> ConfigLoader.load(yaml(
        "hsm:\n  pin: '1'\nclusters:\n  cluster-softhsmtwo2:\n    library: /x.so\n"), Map.of()));
    assertTrue(e.getMessage().contains("token_label"), e.getMessage());
  }

  @Test
  void shippedTemplates_clusterExamplesParseOnceUncommented() throws IOException {
    try (var files = Files.list(Path.of("hsm-config"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
        StringBuilder clusters = new StringBuilder();
        boolean in = false;
        for (String line : Files.readAllLines(f)) {
          in |= line.startsWith("#clusters:");
          if (in && !line.startsWith("#")) {
            break; // the commented example ends at the first line that is not a comment
          }
          if (in) {
            clusters.append(line.substring(1)).append('\n');
          }
        }
        assertFalse(clusters.isEmpty(), f + " has a commented clusters: example");
        Path only = yaml("hsm:\n  pin: '1'\n" + clusters);
        GatewayConfig c;
        try {
          c = ConfigLoader.load(only, Map.of());
        } catch (ConfigException e) {
          // a vendor whose profile kmsgw refuses (no AES-GCM, or HSM-made IVs) says so; nothing else may fail
          assertTrue(e.getMessage().contains("vendor:"), f + ": " + e.getMessage());
          continue;
        }
        assertEquals(1, c.clusters().size(), f.toString());
        assertTrue(c.clusters().get(0).id().matches(HsmDefinition.ID_PATTERN));
      }
    }
  }

  @Test
  void devPin_isSevenTo32Characters_andOnlyForDevelopmentMode() throws IOException {
    assertEquals("seven-7", ConfigLoader.load(null, Map.of("KMSGW_DEV_PIN", "seven-7")).hsm().devPin());
    assertThrows(ConfigException.class, () -> ConfigLoader.load(null, Map.of("KMSGW_DEV_PIN", "six-66")));
    assertThrows(ConfigException.class, () -> ConfigLoader.load(null, Map.of("KMSGW_DEV_PIN", "x".repeat(33))));
    Path f = yaml("hsm:\n  pin: '1234'\n");
    assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of("KMSGW_DEV_PIN", "long-enough")));
  }

  @Test
  void xksPrefix_containingKmsXksV1_isRefused_becauseRequestsCouldNeverReachIt() throws IOException {
    for (String prefix : new String[] {"kms/xks/v1", "a/kms/xks/v1", "kms/xks/v1x", "ab/kms/xks/v1/cd", "xkms/xks/v1"}) {
      Path f = yaml("hsm:\n  vendor: softhsm2\n  pin: '1234'\nxks:\n  endpoints:\n    p:\n      prefix: " + prefix
          + "\n      hsm_labels: xks-*\n      credentials:\n        current:\n"
          + "          access_key_id: AKIAI2SFODNN7EXAMPLEXKS234\n"
          + "          secret_access_key: FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE\n");
      ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()), prefix);
      assertTrue(e.getMessage().contains("must not contain kms/xks/v1"), e.getMessage());
    }
  }

  static String xksEndpoint(String fields) {
    return "hsm:\n  vendor: softhsm2\n  pin: '1234'\nxks:\n  endpoints:\n    payments:\n      prefix: p\n" + fields
        + "      credentials:\n        current:\n          access_key_id: AKIAI2SFODNN7EXAMPLEXKS234\n"
        + "          secret_access_key: FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE\n";
  }

  @Test
  void xksAllKeys_isRefused_becauseAnEndpointServesOnlyTheKeysItWasGiven() throws IOException {
    Path f = yaml(xksEndpoint("      all_keys: true\n"));
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()));
    assertTrue(e.getMessage().contains("all_keys: no longer supported"), e.getMessage());
    assertTrue(e.getMessage().contains("kmsgw:xks-endpoint=payments"), e.getMessage());
  }

  @Test
  void xksTaggedKeys_isAnEndpointsWholeKeySet_andOffByDefault() throws IOException {
    XksSettings.Endpoint tagged = ConfigLoader.load(yaml(xksEndpoint("      tagged_keys: true\n")), Map.of()).xks()
        .endpoints().get(0);
    assertTrue(tagged.taggedKeys());
    XksSettings.Endpoint listed = ConfigLoader.load(yaml(xksEndpoint("      keys: payments-key\n")), Map.of()).xks()
        .endpoints().get(0);
    assertEquals(false, listed.taggedKeys());
    assertEquals(Set.of("payments-key"), listed.keys());
    ConfigException none = assertThrows(ConfigException.class, () -> ConfigLoader.load(yaml(xksEndpoint("")),
        Map.of()));
    assertTrue(none.getMessage().contains("exposes no key"), none.getMessage());
  }

  @Test
  void xksDevEndpoint_servesKeysTaggedForIt_andXksLabels_notEveryKey() throws IOException {
    XksSettings.Endpoint dev = ConfigLoader.load(null, Map.of()).xks().endpoints().stream()
        .filter(XksSettings.Endpoint::dev).findFirst().orElseThrow();
    assertEquals(XksSettings.DEV_NAME, dev.name());
    assertTrue(dev.taggedKeys());
    assertEquals(Set.of(), dev.keys());
    assertEquals(List.of("xks-*"), dev.labels());
  }
}
