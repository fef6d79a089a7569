package io.kmsgw.cli;

import io.kmsgw.app.Gateway;
import io.kmsgw.app.Banner;
import io.kmsgw.config.ConfigException;
import io.kmsgw.config.ConfigLoader;
import io.kmsgw.config.GatewayConfig;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.log.Logging;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kmsgw serve}: runs the gateway until it is stopped (SIGINT or SIGTERM). */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run the gateway. Without --config: a SoftHSM2 token and an embedded store under the data directory.")
final class ServeCommand implements Callable<Integer> {
  private static final Logger LOG = Logger.getLogger(ServeCommand.class.getName());

  @Option(names = "--config", paramLabel = "FILE",
      description = "YAML configuration for a real HSM (see hsm-config/). Every key can also be set as KMSGW_<KEY>.")
  Path config;

  @Override
  public Integer call() throws Exception {
    GatewayConfig cfg;
    try {
      cfg = ConfigLoader.load(config, System.getenv());
    } catch (ConfigException e) {
      System.err.println("kmsgw: configuration error:\n" + e.getMessage());
      return 2;
    }
    Logging.configure(Level.parse(cfg.logLevel()), System.out);
    Gateway gateway;
    try {
      gateway = Gateway.start(cfg);
    } catch (ConfigException e) {
      LOG.severe("cannot start: " + e.getMessage());
      Logging.close();
      System.err.println("kmsgw: " + e.getMessage());
      return 2;
    } catch (HsmException e) {
      LOG.severe("cannot start: " + e.getMessage());
      Logging.close();
      System.err.println("kmsgw: " + e.getMessage());
      return 1;
    }
    gateway.awaitKeyStore(Duration.ofSeconds(10));
    Banner.print(gateway);
    reloadOnHangup(gateway);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      gateway.close();
      Logging.close();
      stopped.countDown();
    }, "kmsgw-shutdown"));
    stopped.await();
    return 0;
  }

  /**
   * SIGHUP re-reads the configuration (file, environment, secret files) and applies what can change while running:
   * XKS credentials, so they rotate without downtime. A configuration that no longer loads changes nothing.
   */
  private void reloadOnHangup(Gateway gateway) {
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> {
        try {
          GatewayConfig fresh = ConfigLoader.load(config, System.getenv());
          gateway.reload(fresh).forEach(line -> LOG.info("reload: " + line));
        } catch (RuntimeException e) {
          // ConfigException included
          LOG.warning("reload refused, nothing changed: " + e.getMessage());
        }
      });
    } catch (IllegalArgumentException e) {
      LOG.info("SIGHUP is not available here; configuration reloads need a restart");
    }
  }
}
