package io.kmsgw.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code hsm.init_args} and {@code clusters.<id>.init_args}: NSS's parameter string for C_Initialize. */
class InitArgsConfigTest {
  private static final String NSS_LIB = "/usr/lib/x86_64-linux-gnu/libsoftokn3.so";

  @TempDir
  Path dir;

  private Path yaml(String content) throws IOException {
    Path f = dir.resolve("kmsgw.yaml");
    Files.writeString(f, content);
    return f;
  }

  @Test
  void hsmInitArgs_dataDirPlaceholderIsReplacedByTheAbsoluteDataDirectory() throws IOException {
    Path f = yaml("data_dir: " + dir.resolve("d") + "\nhsm:\n  vendor: nss\n  library: " + NSS_LIB
        + "\n  token_label: NSS Certificate DB\n  pin: '12345678'\n"
        + "  init_args: \"configdir='sql:{data_dir}/nss' certPrefix='' keyPrefix='' secmod='secmod.db' flags=\"\n");
    GatewayConfig c = ConfigLoader.load(f, Map.of());
    assertEquals("configdir='sql:" + dir.resolve("d").toAbsolutePath() + "/nss' certPrefix='' keyPrefix='' "
        + "secmod='secmod.db' flags=", c.hsm().initArgs());
    assertEquals(VendorProfile.NSS, c.hsm().vendor());
    assertEquals(Optional.of(dir.resolve("d").toAbsolutePath().resolve("nss")), InitArgs.configDir(c.hsm().initArgs()));
  }

  @Test
  void hsmInitArgs_fromTheEnvironment_andNoneByDefault() throws IOException {
    Path f = yaml("hsm:\n  pin: '1'\n");
    assertNull(ConfigLoader.load(f, Map.of()).hsm().initArgs(), "SoftHSM2 takes no parameters");
    GatewayConfig c = ConfigLoader.load(f, Map.of("KMSGW_HSM_INIT_ARGS", "vendor-specific x=1"));
    assertEquals("vendor-specific x=1", c.hsm().initArgs(), "other vendors' strings are passed as they are");
  }

  @Test
  void nssWithoutConfigdir_isRefusedAtLoad_beforeNssCouldCrashTheProcess() throws IOException {
    Path f = yaml("hsm:\n  vendor: nss\n  library: " + NSS_LIB + "\n  pin: '1'\n  init_args: \"flags=readOnly\"\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()));
    assertTrue(e.getMessage().contains("hsm.init_args") && e.getMessage().contains("configdir"), e.getMessage());
  }

  @Test
  void nssWithoutInitArgs_isRefusedAtLoad() throws IOException {
    Path f = yaml("hsm:\n  vendor: nss\n  library: " + NSS_LIB + "\n  pin: '1'\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()));
    assertTrue(e.getMessage().contains("hsm.init_args: NSS's software token needs its database"), e.getMessage());
  }

  @Test
  void nssLibraryUnderAnotherVendorProfile_stillNeedsConfigdir() throws IOException {
    Path f = yaml("hsm:\n  vendor: luna\n  library: " + NSS_LIB + "\n  pin: '1'\n  init_args: \"flags=\"\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()));
    assertTrue(e.getMessage().contains("configdir"), e.getMessage());
  }

  @Test
  void controlCharacters_areRefused() throws IOException {
    Path f = yaml("hsm:\n  pin: '1'\n  init_args: \"configdir='sql:/x'\\nflags=\"\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()));
    assertTrue(e.getMessage().contains("hsm.init_args: control characters"), e.getMessage());
  }

  @Test
  void clusterInitArgs_perCluster_withPlaceholder_andEnvironmentOverride() throws IOException {
    Path f = yaml("data_dir: " + dir + "\nhsm:\n  pin: '1'\nclusters:\n  cluster-nssnssnss234:\n    vendor: nss\n"
        + "    library: " + NSS_LIB + "\n    token_label: NSS Certificate DB\n"
        + "    init_args: \"configdir='sql:{data_dir}/nss2' flags=\"\n");
    HsmDefinition d = ConfigLoader.load(f, Map.of()).clusters().get(0);
    assertEquals("configdir='sql:" + dir.toAbsolutePath() + "/nss2' flags=", d.initArgs());
    HsmDefinition e = ConfigLoader.load(f, Map.of("KMSGW_CLUSTERS_CLUSTER_NSSNSSNSS234_INIT_ARGS",
        "configdir=/elsewhere")).clusters().get(0);
    assertEquals("configdir=/elsewhere", e.initArgs());
    assertEquals(Optional.of(Path.of("/elsewhere")), InitArgs.configDir(e.initArgs()));
  }

  @Test
  void clusterOnNss_withoutConfigdir_isRefusedWithTheClusterKey() throws IOException {
    Path f = yaml("hsm:\n  pin: '1'\nclusters:\n  cluster-nssnssnss234:\n    vendor: nss\n"
        + "    library: " + NSS_LIB + "\n    token_label: NSS Certificate DB\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()));
    assertTrue(e.getMessage().contains("clusters.cluster-nssnssnss234.init_args"), e.getMessage());
  }

  /**
   * Strings that look as if they named a configdir but that NSS reads without one (it takes the process down on
   * them: a blank around '=', a configdir inside another parameter's value), and a data directory whose path would
   * change the parse: refused at load.
   */
  @Test
  void nssStringsNssWouldReadWithoutAConfigdir_areRefusedAtLoad() throws IOException {
    for (String args : new String[] {
        "configdir = 'sql:/tmp/nsst' certPrefix='' keyPrefix='' secmod='secmod.db'",
        "configdir= 'sql:/tmp/nsst' certPrefix=''",
        "tokenDescription='a configdir=x' flags=readOnly",
        "configdir='sql:/tmp/x\\' flags=",
        "configdir={sql:/tmp/x} flags=",
        "configdir='sql:/tmp/x'flags="}) {
      Path f = yaml("hsm:\n  vendor: nss\n  library: " + NSS_LIB + "\n  pin: '1'\n  init_args: \""
          + args.replace("\\", "\\\\").replace("\"", "\\\"") + "\"\n");
      ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()), args);
      assertTrue(e.getMessage().contains("hsm.init_args"), e.getMessage());
    }
    Path quoted = dir.resolve("it's here");
    Path f = yaml("data_dir: \"" + quoted + "\"\nhsm:\n  vendor: nss\n  library: " + NSS_LIB + "\n  pin: '1'\n"
        + "  init_args: \"configdir='sql:{data_dir}/nss' flags=\"\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()));
    assertTrue(e.getMessage().contains("{data_dir}"), e.getMessage());
  }

  @Test
  void parameters_areReadAsNssReadsThem() {
    assertEquals(java.util.List.of(new InitArgs.Parameter("configdir", "sql:/a b"),
        new InitArgs.Parameter("certPrefix", ""), new InitArgs.Parameter("flags", "")),
        InitArgs.parameters("configdir='sql:/a b'  certPrefix=\"\" flags=").orElseThrow());
    assertEquals(Optional.empty(), InitArgs.parameters("configdir = '/x'"));
    assertEquals(Optional.empty(), InitArgs.parameters("configdir=<x>"));
  }

  @Test
  void configDir_readsQuotedAndBareForms() {
    assertEquals(Optional.of(Path.of("/a b")), InitArgs.configDir("configdir='sql:/a b' flags="));
    assertEquals(Optional.of(Path.of("/c")), InitArgs.configDir("certPrefix='' configDir=\"dbm:/c\""));
    assertEquals(Optional.empty(), InitArgs.configDir("secmod='x' flags=readOnly"));
    assertEquals(Optional.empty(), InitArgs.configDir("configdir=''"));
  }
}
