package io.kmsgw.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code clusters.<id>.capabilities.*}: a custom key store's HSM takes the same capability flags as {@code hsm:}. */
class ClusterCapabilitiesTest {
  @TempDir
  Path dir;

  private HsmDefinition cluster(String clusterYaml, Map<String, String> env) throws IOException {
    Path f = dir.resolve("kmsgw.yaml");
    Files.writeString(f, "hsm:\n  pin: '1234'\nclusters:\n  cluster-ivfromhsm2x:\n    token_label: store-2\n"
        + "    library: /opt/vendor/lib.so\n" + clusterYaml);
    GatewayConfig c = ConfigLoader.load(f, env);
    assertEquals(1, c.clusters().size());
    return c.clusters().get(0);
  }

  @Test
  void cloudHsmCluster_isAccepted_andTakesHsmGeneratedIvsFromItsProfile() throws IOException {
    HsmDefinition d = cluster("    vendor: cloudhsm\n", Map.of());
    assertEquals(VendorProfile.CLOUDHSM, d.vendor());
    assertTrue(d.gcmIvFromHsm(), "CloudHSM writes its own IV into CK_GCM_PARAMS.pIv");
    assertTrue(((TokenSettings) d).gcmIvFromHsm(), "the connector factory reads it through TokenSettings");
  }

  @Test
  void softHsmCluster_takesCallerIvs_unlessTheFlagSaysOtherwise() throws IOException {
    assertFalse(cluster("", Map.of()).gcmIvFromHsm());
    assertTrue(cluster("    capabilities:\n      gcm_iv_from_hsm: true\n", Map.of()).gcmIvFromHsm(),
        "a module in front of SoftHSM2 that generates IVs (the test module in CloudHSM mode)");
    assertFalse(cluster("    vendor: cloudhsm\n    capabilities:\n      gcm_iv_from_hsm: false\n", Map.of())
        .gcmIvFromHsm(), "the file overrides the profile; the connection self-test judges the result");
  }

  @Test
  void gcmIvFromHsm_isOverriddenByTheClustersEnvironmentVariable() throws IOException {
    HsmDefinition d = cluster("    vendor: luna\n",
        Map.of("KMSGW_CLUSTERS_CLUSTER_IVFROMHSM2X_CAPABILITIES_GCM_IV_FROM_HSM", "true"));
    assertEquals(VendorProfile.LUNA, d.vendor());
    assertTrue(d.gcmIvFromHsm(), "Luna in FIPS mode: the profile says caller IVs, the operator says otherwise");
  }

  @Test
  void gcmIvFromHsm_thatIsNotABoolean_isRefusedByItsKey() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> cluster("    capabilities:\n      gcm_iv_from_hsm: sometimes\n", Map.of()));
    assertTrue(e.getMessage().contains("clusters.cluster-ivfromhsm2x.capabilities.gcm_iv_from_hsm"),
        e.getMessage());
  }

  @Test
  void developmentCluster_takesTheDefaultStoresCapabilities_sinceItIsReachedThroughTheSameLibrary() {
    GatewayConfig c = ConfigLoader.load(null, Map.of("KMSGW_HSM_CAPABILITIES_GCM_IV_FROM_HSM", "true",
        "KMSGW_HSM_CAPABILITIES_SESSION_KEY_COPIES", "false"));
    HsmDefinition dev = c.clusters().get(0);
    assertEquals(HsmDefinitions.DEV_CLUSTER_ID, dev.id());
    assertTrue(dev.gcmIvFromHsm(), "a module in front of SoftHSM2 that generates IVs serves both development tokens");
    assertFalse(dev.sessionKeyCopies());
    assertTrue(dev.gcmGeneralErrorOnTagMismatch(), "SoftHSM2's profile, as for the default store");
    assertFalse(ConfigLoader.load(null, Map.of()).clusters().get(0).gcmIvFromHsm());
  }

  @Test
  void devPinUser_isADevelopmentSetting_withCloudHsmsUserNameRule() throws IOException {
    assertEquals("kmsgw_cu", ConfigLoader.load(null, Map.of("KMSGW_DEV_PIN_USER", "kmsgw_cu")).hsm().devPinUser());
    assertEquals(null, ConfigLoader.load(null, Map.of()).hsm().devPinUser());
    ConfigException e = assertThrows(ConfigException.class,
        () -> ConfigLoader.load(null, Map.of("KMSGW_DEV_PIN_USER", "has:colon")));
    assertTrue(e.getMessage().contains("dev.pin_user"), e.getMessage());
    Path f = dir.resolve("real.yaml");
    Files.writeString(f, "hsm:\n  pin: 'cu:pw'\n  vendor: cloudhsm\n  library: /opt/cloudhsm/lib.so\n");
    e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of("KMSGW_DEV_PIN_USER", "cu")));
    assertTrue(e.getMessage().contains("dev.pin_user") && e.getMessage().contains("hsm.pin"), e.getMessage());
  }
}
