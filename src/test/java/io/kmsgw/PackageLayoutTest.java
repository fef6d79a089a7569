package io.kmsgw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dependency rules of docs/architecture.md, read from the main sources: which of the gateway's packages each
 * package names (imports and fully qualified names alike). A rule broken names the file and the package it reached.
 */
class PackageLayoutTest {
  private static final Path SOURCES = Path.of("src", "main", "java", "io", "kmsgw");
  private static final Pattern PACKAGE = Pattern.compile("^package (io\\.kmsgw(?:\\.[a-z][a-z0-9]*)*);",
      Pattern.MULTILINE);
  private static final Pattern REFERENCE = Pattern.compile("\\bio\\.kmsgw((?:\\.[a-z][a-z0-9]*)*)\\.[A-Z]");

  /** Package (without the io.kmsgw prefix) → file → the packages it names. */
  private static final Map<String, Map<Path, Set<String>>> USES = new TreeMap<>();

  @BeforeAll
  static void read() throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.walk(SOURCES)) {
      files = s.filter(p -> p.toString().endsWith(".java")).toList();
    }
    for (Path f : files) {
      String text = Files.readString(f);
      Matcher p = PACKAGE.matcher(text);
      assertTrue(p.find(), f + " has no package line");
      String pkg = p.group(1).substring("io.kmsgw".length()).replaceFirst("^\\.", "");
      Set<String> named = new TreeSet<>();
      Matcher m = REFERENCE.matcher(text);
      while (m.find()) {
        String used = m.group(1).replaceFirst("^\\.", "");
        if (!used.equals(pkg)) {
          named.add(used);
        }
      }
      USES.computeIfAbsent(pkg, k -> new TreeMap<>()).put(f, named);
    }
  }

  /** Where package {@code pkg} (exactly) names {@code forbidden} or a package under it. */
  private static List<String> violations(String pkg, String... forbidden) {
    Map<Path, Set<String>> files = USES.get(pkg);
    assertTrue(files != null && !files.isEmpty(), "no sources in package " + pkg);
    List<String> found = new ArrayList<>();
    files.forEach((file, named) -> {
      for (String used : named) {
        for (String f : forbidden) {
          if (used.equals(f) || used.startsWith(f + ".")) {
            found.add(file.getFileName() + " -> " + used);
          }
        }
      }
    });
    return found;
  }

  @Test
  void keystore_knowsNoKeyOperation_noTransport_noAdapter() {
    assertEquals(List.of(), violations("keystore", "kms", "iam", "api", "app", "cli", "hsm.pkcs11", "hsm.pool"));
  }

  @Test
  void kms_seesNeitherHttpNorPkcs11() {
    assertEquals(List.of(), violations("kms", "api", "app", "cli", "hsm.pkcs11", "hsm.pool"));
  }

  @Test
  void iam_importsNothingFromKms() {
    assertEquals(List.of(), violations("iam", "kms", "api", "app"));
  }

  @Test
  void hsmPort_holdsNoImplementation() {
    assertEquals(List.of(), violations("hsm", "hsm.pkcs11", "hsm.pool", "keystore", "kms"));
  }

  @Test
  void domainAndAsync_dependOnNothingAboveThem() {
    assertEquals(List.of(), violations("domain", "async", "keystore", "kms", "iam", "hsm", "store", "api", "app"));
    assertEquals(List.of(), violations("async", "keystore", "kms", "iam", "hsm", "api", "app"));
  }

  @Test
  void onlyTheFactoryBuildsAPkcs11Connector() throws IOException {
    List<String> found = new ArrayList<>();
    for (Map<Path, Set<String>> files : USES.values()) {
      for (Path f : files.keySet()) {
        String name = f.getFileName().toString();
        if (Files.readString(f).contains("new Pkcs11Connector(") && !name.equals("Pkcs11ConnectorFactory.java")
            && !name.equals("RawPkcs11Bench.java")) {
          found.add(name);
        }
      }
    }
    assertEquals(List.of(), found, "connectors come from the HsmConnectorFactory (the raw benchmark excepted)");
  }
}
