package io.kmsgw.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.config.ConfigLoader;
import io.kmsgw.config.GatewayConfig;
import io.kmsgw.config.HsmDefinition;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmConnector;
import io.kmsgw.hsm.HsmConnectorFactory;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.testing.TestToken;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The one connector factory, fed by the configuration loader as the gateway feeds it: the default key store's
 * {@code hsm:} section and a custom key store's {@code clusters:} entry both reach a real SoftHSM2 token with the
 * settings they name.
 */
class Pkcs11ConnectorFactoryTest {
  private static TestToken token;
  private final HsmConnectorFactory factory = new Pkcs11ConnectorFactory();

  @BeforeAll
  static void token() {
    token = TestToken.create("factory");
  }

  private static GatewayConfig load(String yaml) throws IOException {
    Path dir = TestToken.scratch("factory");
    Path file = Files.writeString(dir.resolve("kmsgw.yaml"), yaml + "data_dir: " + dir + "\n");
    return ConfigLoader.load(file, Map.of());
  }

  private static Supplier<char[]> countingPin(String pin, AtomicInteger reads) {
    return () -> {
      reads.incrementAndGet();
      return pin.toCharArray();
    };
  }

  @Test
  void defaultStoreSection_connectsToTheNamedTokenWithItsPoolSize_readingThePinAtLogin() throws Exception {
    GatewayConfig c = load("hsm:\n  library: " + token.library() + "\n  token_label: " + token.label()
        + "\n  pin: unused\n  pool:\n    size: 3\n");
    AtomicInteger reads = new AtomicInteger();
    HsmConnector connector = factory.create(c.hsm(), countingPin(TestToken.USER_PIN, reads));
    assertTrue(connector.describe().contains(token.library()), connector.describe());
    assertTrue(connector.describe().contains("'" + token.label() + "'"), connector.describe());
    assertEquals(0, reads.get(), "the PIN is read when logging in, not when the connector is made");
    Hsm hsm = connector.connect(e -> {});
    try {
      assertEquals(3, hsm.stats().poolSize());
      assertEquals(1, reads.get());
    } finally {
      hsm.close();
    }
  }

  @Test
  void clusterEntry_connectsWithItsOwnPoolSize() throws Exception {
    GatewayConfig c = load("hsm:\n  pin: '1'\nclusters:\n  cluster-factorytest2:\n    library: " + token.library()
        + "\n    token_label: " + token.label() + "\n    pool:\n      size: 2\n");
    HsmDefinition def = c.clusters().get(0);
    Hsm hsm = factory.create(def, TestToken.USER_PIN::toCharArray).connect(e -> {});
    try {
      assertEquals(2, hsm.stats().poolSize());
    } finally {
      hsm.close();
    }
  }

  @Test
  void clusterEntry_minHsmsAboveTheTokensThatAnswer_failsInsufficientHsms() throws Exception {
    GatewayConfig c = load("hsm:\n  pin: '1'\nclusters:\n  cluster-factorytest3:\n    library: " + token.library()
        + "\n    token_label: " + token.label() + "\n    min_hsms: 2\n");
    HsmException e = assertThrows(HsmException.class,
        () -> factory.create(c.clusters().get(0), TestToken.USER_PIN::toCharArray).connect(x -> {}));
    assertEquals(HsmErrorKind.INSUFFICIENT_HSMS, e.kind(), e.getMessage());
  }

  @Test
  void clusterEntry_wrongPassword_failsPinIncorrect_withoutThePinInTheMessage() throws Exception {
    GatewayConfig c = load("hsm:\n  pin: '1'\nclusters:\n  cluster-factorytest4:\n    library: " + token.library()
        + "\n    token_label: " + token.label() + "\n");
    HsmException e = assertThrows(HsmException.class,
        () -> factory.create(c.clusters().get(0), "not-the-pin-9876"::toCharArray).connect(x -> {}));
    assertEquals(HsmErrorKind.PIN_INCORRECT, e.kind(), e.getMessage());
    assertTrue(!e.getMessage().contains("not-the-pin-9876"), e.getMessage());
  }
}
