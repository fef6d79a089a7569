package io.kmsgw.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.hsm.Capability;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.TokenMechanisms;
import io.kmsgw.testing.TestPkcs11Module;
import io.kmsgw.testing.TestToken;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Mechanisms read from the token at connection, judged against OpenSC's {@code pkcs11-tool -M} on the same token:
 * SoftHSM2 directly, and SoftHSM2 behind the project's test module with mechanisms hidden.
 */
class MechanismDiscoveryTest {
  /** pkcs11-tool's name of each capability's mechanism (OpenSC's table; 0x210A has no name there). */
  private static final Map<Capability, String> TOOL_NAMES = new LinkedHashMap<>();

  static {
    TOOL_NAMES.put(Capability.AES_KEY_GEN, "AES-KEY-GEN");
    TOOL_NAMES.put(Capability.AES_GCM, "AES-GCM");
    TOOL_NAMES.put(Capability.AES_KEY_WRAP, "AES-KEY-WRAP");
    TOOL_NAMES.put(Capability.AES_KEY_WRAP_PAD, "mechtype-0x210A");
    TOOL_NAMES.put(Capability.GENERIC_SECRET_KEY_GEN, "GENERIC-SECRET-KEY-GEN");
    TOOL_NAMES.put(Capability.HMAC_SHA224, "SHA224-HMAC");
    TOOL_NAMES.put(Capability.HMAC_SHA256, "SHA256-HMAC");
    TOOL_NAMES.put(Capability.HMAC_SHA384, "SHA384-HMAC");
    TOOL_NAMES.put(Capability.HMAC_SHA512, "SHA512-HMAC");
    TOOL_NAMES.put(Capability.RSA_KEY_GEN, "RSA-PKCS-KEY-PAIR-GEN");
    TOOL_NAMES.put(Capability.RSA_PKCS1_SIGN, "RSA-PKCS");
    TOOL_NAMES.put(Capability.RSA_PSS, "RSA-PKCS-PSS");
    TOOL_NAMES.put(Capability.RSA_OAEP, "RSA-PKCS-OAEP");
    TOOL_NAMES.put(Capability.RSA_X_509, "RSA-X-509");
    TOOL_NAMES.put(Capability.RSA_AES_KEY_WRAP, "RSA-AES-KEY-WRAP");
    TOOL_NAMES.put(Capability.EC_KEY_GEN, "ECDSA-KEY-PAIR-GEN");
    TOOL_NAMES.put(Capability.ECDSA, "ECDSA");
    TOOL_NAMES.put(Capability.ECDSA_SHA256, "ECDSA-SHA256");
    TOOL_NAMES.put(Capability.ECDSA_SHA384, "ECDSA-SHA384");
    TOOL_NAMES.put(Capability.ECDSA_SHA512, "ECDSA-SHA512");
    TOOL_NAMES.put(Capability.ECDH, "ECDH1-DERIVE");
    TOOL_NAMES.put(Capability.EDWARDS_KEY_GEN, "EC-EDWARDS-KEY-PAIR-GEN");
    TOOL_NAMES.put(Capability.EDDSA, "EDDSA");
  }

  private static TestToken direct;
  private static TestToken behindModule;
  private final List<Hsm> opened = new ArrayList<>();

  @BeforeAll
  static void tokens() {
    direct = TestToken.create("mechs");
    behindModule = TestToken.create("mechs-module", TestPkcs11Module.library().toString());
  }

  @AfterEach
  void close() {
    opened.forEach(Hsm::close);
    TestPkcs11Module.inThisJvm().reset();
  }

  private TokenMechanisms discover(TestToken token) throws HsmException {
    Hsm hsm = new Pkcs11Connector(token.options(1)).connect(e -> {});
    opened.add(hsm);
    return hsm.mechanisms();
  }

  /** pkcs11-tool -M on the token: mechanism name → its flags as printed. */
  private static Map<String, String> pkcs11ToolMechanisms(String library, String label, Map<String, String> env)
      throws Exception {
    ProcessBuilder pb = new ProcessBuilder("pkcs11-tool", "--module", library, "--token-label", label, "-M")
        .redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    Map<String, String> mechs = new TreeMap<>();
    for (String line : out.split("\n")) {
      if (line.startsWith("  ")) {
        String l = line.strip();
        int comma = l.indexOf(',');
        mechs.put(comma < 0 ? l : l.substring(0, comma), comma < 0 ? "" : l.substring(comma + 1));
      }
    }
    assertFalse(mechs.isEmpty(), out);
    return mechs;
  }

  /** What pkcs11-tool's flags say of a capability: the mechanism is listed with every flag it needs. */
  private static boolean toolOffers(Map<String, String> tool, Capability c) {
    String flags = tool.get(TOOL_NAMES.get(c));
    if (flags == null) {
      return false;
    }
    Set<String> printed = Set.of(flags.replaceAll("keySize=\\{[^}]*\\}", "").split("\\s*,\\s*"));
    return printed.containsAll(Capability.Flag.names(c.requiredFlags()));
  }

  private static void assertSameAsPkcs11Tool(TokenMechanisms found, Map<String, String> tool) {
    assertEquals(tool.size(), found.listed().size(), "mechanisms listed: pkcs11-tool " + tool.keySet()
        + "; discovered " + found.listed().stream().map(TokenMechanisms.Mechanism::name).toList());
    for (Capability c : Capability.values()) {
      assertEquals(toolOffers(tool, c), found.offers(c), c + " (pkcs11-tool: " + tool.get(TOOL_NAMES.get(c)) + ")");
    }
  }

  @Test
  void softHsm2_discoveredMechanisms_areThoseThatPkcs11ToolLists() throws Exception {
    TokenMechanisms found = discover(direct);
    Map<String, String> tool = pkcs11ToolMechanisms(direct.library(), direct.label(), Map.of());
    assertSameAsPkcs11Tool(found, tool);
    // GUIDE §6, measured on SoftHSM 2.6.1: all of these, and neither CKM_ECDSA_SHA256 nor CKM_RSA_AES_KEY_WRAP
    Set<Capability> expected = EnumSet.complementOf(EnumSet.of(Capability.ECDSA_SHA256, Capability.ECDSA_SHA384,
        Capability.ECDSA_SHA512, Capability.RSA_AES_KEY_WRAP));
    assertEquals(expected, found.capabilities());
  }

  @Test
  void softHsm2_rsaOaep_isProbed_andOffersSha1Only() throws HsmException {
    // SoftHSM 2.6.1 lists CKM_RSA_PKCS_OAEP but answers CKR_ARGUMENTS_BAD for any hash but SHA-1
    TokenMechanisms found = discover(direct);
    assertTrue(found.offers(Capability.RSA_OAEP));
    assertEquals(Set.of("SHA-1"), found.oaepHashes());
  }

  @Test
  void oaepProbe_leavesNoObjectOnTheToken_andTheSessionUsable() throws Exception {
    TestToken fresh = TestToken.create("mechs-probe");
    Hsm hsm = new Pkcs11Connector(fresh.options(1)).connect(e -> {});
    opened.add(hsm);
    assertEquals(Set.of("SHA-1"), hsm.mechanisms().oaepHashes());
    assertEquals(16, hsm.withSession(s -> s.generateRandom(16)).length, "the anchor has no operation left active");
    // pkcs11-tool, logged in, sees every token object, public and private: the probe's key was a session object
    ProcessBuilder pb = new ProcessBuilder("pkcs11-tool", "--module", fresh.library(), "--token-label", fresh.label(),
        "--login", "--pin", TestToken.USER_PIN, "--list-objects").redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    assertFalse(out.contains("Object;"), out);
  }

  @Test
  void hiddenMechanisms_behindTheTestModule_areNotDiscovered_asPkcs11ToolAgrees() throws Exception {
    TestPkcs11Module.inThisJvm().set("hide_mechanisms=CKM_AES_GCM,CKM_ECDH1_DERIVE,0x210A");
    TokenMechanisms found = discover(behindModule);
    assertFalse(found.offers(Capability.AES_GCM));
    assertFalse(found.offers(Capability.ECDH));
    assertFalse(found.offers(Capability.AES_KEY_WRAP_PAD));
    assertTrue(found.offers(Capability.AES_KEY_GEN) && found.offers(Capability.ECDSA), found.summary().toString());

    TestPkcs11Module child = TestPkcs11Module.forChildProcess("mechs-tool");
    child.set("hide_mechanisms=CKM_AES_GCM,CKM_ECDH1_DERIVE,0x210A");
    Map<String, String> tool = pkcs11ToolMechanisms(TestPkcs11Module.library().toString(), behindModule.label(),
        child.environment());
    assertFalse(tool.containsKey("AES-GCM"), tool.keySet().toString());
    assertSameAsPkcs11Tool(found, tool);
  }
}
