package io.kmsgw.cli;

import io.kmsgw.client.KmsHttp;
import io.kmsgw.config.ConfigException;
import io.kmsgw.config.ConfigLoader;
import io.kmsgw.config.GatewayConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code kmsgw keystore list|connect|disconnect}: operator commands for custom key stores. They call the running
 * gateway's KMS API (DescribeCustomKeyStores, ConnectCustomKeyStore, DisconnectCustomKeyStore), signed like any
 * client, so they are checked, logged and audited as API calls are.
 */
@Command(name = "keystore", mixinStandardHelpOptions = true,
    description = "List, connect and disconnect custom key stores of a running gateway (through its API).",
    subcommands = {KeystoreCommand.ListStores.class, KeystoreCommand.Connect.class, KeystoreCommand.Disconnect.class})
final class KeystoreCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.err.println("kmsgw keystore: say list, connect <id or name> or disconnect <id or name>");
    return 2;
  }

  /** Where the gateway is and who calls it. */
  static final class Target {
    @Option(names = "--endpoint-url", paramLabel = "URL",
        description = "The gateway (default: http.host and http.port of the configuration, http://127.0.0.1:8400).")
    URI endpoint;

    @Option(names = "--config", paramLabel = "FILE", description = "The gateway's YAML configuration, if any.")
    Path config;

    /**
     * Credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, else the bootstrap administrator's file in the
     * data directory (development mode).
     */
    KmsHttp client(Map<String, String> env) throws IOException {
      GatewayConfig cfg = null;
      try {
        cfg = ConfigLoader.load(config, env);
      } catch (ConfigException e) {
        if (endpoint == null) {
          throw new IOException("cannot read the configuration to find the gateway (" + e.getMessage()
              + "); give --endpoint-url");
        }
      }
      URI uri = endpoint != null ? endpoint : URI.create(cfg.http().endpoint());
      String region = env.getOrDefault("AWS_DEFAULT_REGION", env.getOrDefault("AWS_REGION",
          cfg != null ? cfg.region() : "us-east-1"));
      String akid = env.get("AWS_ACCESS_KEY_ID");
      String secret = env.get("AWS_SECRET_ACCESS_KEY");
      if (akid == null || secret == null) {
        Path file = cfg == null ? null : cfg.dataDir().resolve("admin-credentials");
        if (file == null || !Files.isReadable(file)) {
          throw new IOException("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (no readable admin-credentials file "
              + "in the data directory)");
        }
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          if (line.startsWith("access_key_id=")) {
            akid = line.substring("access_key_id=".length()).strip();
          } else if (line.startsWith("secret_access_key=")) {
            secret = line.substring("secret_access_key=".length()).strip();
          }
        }
        if (akid == null || secret == null) {
          throw new IOException(file + " does not hold access_key_id and secret_access_key");
        }
      }
      return new KmsHttp(uri, akid, secret, region);
    }
  }

  /** Every custom key store, following Marker. */
  static List<JsonObject> describeAll(KmsHttp kms) throws IOException, InterruptedException {
    List<JsonObject> all = new ArrayList<>();
    String marker = null;
    do {
      JsonObject req = new JsonObject().put("Limit", 100);
      if (marker != null) {
        req.put("Marker", marker);
      }
      KmsHttp.Answer a = kms.send("DescribeCustomKeyStores", req);
      if (a.status() != 200) {
        throw new IOException(a.errorType() + ": " + a.errorMessage());
      }
      JsonArray page = a.body().getJsonArray("CustomKeyStores", new JsonArray());
      for (int i = 0; i < page.size(); i++) {
        all.add(page.getJsonObject(i));
      }
      marker = a.body().getBoolean("Truncated", false) ? a.body().getString("NextMarker") : null;
    } while (marker != null);
    return all;
  }

  /** The store with this id or name. */
  static JsonObject find(KmsHttp kms, String idOrName) throws IOException, InterruptedException {
    for (JsonObject s : describeAll(kms)) {
      if (idOrName.equals(s.getString("CustomKeyStoreId")) || idOrName.equals(s.getString("CustomKeyStoreName"))) {
        return s;
      }
    }
    throw new IOException("no custom key store has the id or name " + idOrName);
  }

  /** Calls an operation on the store with this id or name; returns its id. AWS errors become the message. */
  static String callOn(KmsHttp kms, String operation, String idOrName) throws IOException, InterruptedException {
    String id = find(kms, idOrName).getString("CustomKeyStoreId");
    KmsHttp.Answer a = kms.send(operation, new JsonObject().put("CustomKeyStoreId", id));
    if (a.status() != 200) {
      throw new IOException(a.errorType() + ": " + a.errorMessage());
    }
    return id;
  }

  static void print(PrintStream out, List<JsonObject> stores) {
    String format = "%-22s %-24s %-22s %-13s %s%n";
    out.printf(format, "ID", "NAME", "CLUSTER", "STATE", "ERROR");
    for (JsonObject s : stores) {
      out.printf(format, s.getString("CustomKeyStoreId"), s.getString("CustomKeyStoreName"),
          s.getString("CloudHsmClusterId", "-"), s.getString("ConnectionState"),
          s.getString("ConnectionErrorCode", ""));
    }
  }

  /**
   * What each store's token offered at its last connection (the health details, {@code GET /healthz/detail}): one
   * line per store, the default store first. Best effort: a caller the health details refuse still gets the table.
   */
  static void printMechanisms(KmsHttp kms, PrintStream out) throws InterruptedException {
    JsonObject health;
    try {
      health = kms.health();
    } catch (IOException | RuntimeException e) {
      System.err.println("kmsgw keystore: the stores' mechanisms are not shown: " + e.getMessage());
      return;
    }
    out.println();
    out.println("MECHANISMS (read from each store's token when it last connected)");
    for (Object o : health.getJsonArray("keyStores", new JsonArray())) {
      JsonObject store = (JsonObject) o;
      JsonObject m = store.getJsonObject("mechanisms");
      String what = m == null ? "not known yet (never connected)"
          : String.join(" ", m.getJsonArray("capabilities", new JsonArray()).stream().map(String::valueOf).toList())
              + "; RSA-OAEP hashes: " + (m.getJsonArray("rsaOaepHashes", new JsonArray()).isEmpty() ? "none"
              : String.join(" ", m.getJsonArray("rsaOaepHashes").stream().map(String::valueOf).toList()))
              + "; " + m.getInteger("mechanismsListed", 0) + " mechanisms listed";
      out.printf("%-22s %s%n", store.getString("keyStore"), what);
    }
  }

  /** Runs a command body, turning failures into a message and exit code 1. */
  static int run(Target target, Body body) {
    try {
      return body.run(target.client(System.getenv()), System.out);
    } catch (IOException e) {
      System.err.println("kmsgw keystore: " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  @FunctionalInterface
  interface Body {
    int run(KmsHttp kms, PrintStream out) throws IOException, InterruptedException;
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Custom key stores and their states.")
  static final class ListStores implements Callable<Integer> {
    @Mixin
    Target target = new Target();

    @Override
    public Integer call() {
      return run(target, (kms, out) -> {
        print(out, describeAll(kms));
        printMechanisms(kms, out);
        return 0;
      });
    }
  }

  /** A command on one store, named by id or name. */
  abstract static class OneStore implements Callable<Integer> {
    @Mixin
    Target target = new Target();

    @Parameters(paramLabel = "STORE", description = "Custom key store id (cks-...) or name.")
    String store;
  }

  @Command(name = "connect", mixinStandardHelpOptions = true,
      description = "Connect a custom key store and wait until it is CONNECTED or FAILED.")
  static final class Connect extends OneStore {

    @Option(names = "--wait-seconds", defaultValue = "60",
        description = "How long to wait for the connection to settle (0: do not wait).")
    int waitSeconds;

    @Override
    public Integer call() {
      return run(target, (kms, out) -> {
        String id = callOn(kms, "ConnectCustomKeyStore", store);
        long deadline = System.nanoTime() + waitSeconds * 1_000_000_000L;
        JsonObject now = find(kms, id);
        while ("CONNECTING".equals(now.getString("ConnectionState")) && System.nanoTime() < deadline) {
          Thread.sleep(200);
          now = find(kms, id);
        }
        print(out, List.of(now));
        String state = now.getString("ConnectionState");
        return "CONNECTED".equals(state) || ("CONNECTING".equals(state) && waitSeconds == 0) ? 0 : 1;
      });
    }
  }

  @Command(name = "disconnect", mixinStandardHelpOptions = true,
      description = "Disconnect a custom key store: its keys are Unavailable until it is connected again.")
  static final class Disconnect extends OneStore {
    @Override
    public Integer call() {
      return run(target, (kms, out) -> {
        String id = callOn(kms, "DisconnectCustomKeyStore", store);
        print(out, List.of(find(kms, id)));
        return 0;
      });
    }
  }
}
