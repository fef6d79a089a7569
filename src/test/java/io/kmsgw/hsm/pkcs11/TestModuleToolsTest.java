package io.kmsgw.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestPkcs11Module;
import io.kmsgw.testing.TestToken;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * kmsgw's PKCS#11 test module in front of SoftHSM2, driven by programs that are not the gateway: OpenSC's
 * {@code pkcs11-tool}, and {@code gcm-iv-check}, a C program built with the module that keeps its CK_GCM_PARAMS
 * alive from C_EncryptInit to C_Decrypt (as an HSM that writes the IV expects of its caller) and reports what it saw.
 * Each runs in a process of its own with a control file of its own.
 */
class TestModuleToolsTest {
  private static final String ZERO_IV = "000000000000000000000000";
  private static TestToken token;
  private TestPkcs11Module module;

  @BeforeAll
  static void token() {
    token = TestToken.create("tools");
  }

  @BeforeEach
  void control() {
    module = TestPkcs11Module.forChildProcess("tools");
    module.reset();
  }

  private record Run(int exit, String output) {}

  private Run run(List<String> command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().putAll(module.environment());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "finished: " + command);
    return new Run(p.exitValue(), out);
  }

  private Run tool(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("pkcs11-tool", "--module", TestPkcs11Module.library().toString()));
    cmd.addAll(List.of(args));
    return run(cmd);
  }

  private Map<String, String> gcmIvCheck(String pin) throws Exception {
    Run r = run(List.of(TestPkcs11Module.gcmIvCheck().toString(), TestPkcs11Module.library().toString(),
        token.label(), pin));
    assertEquals(0, r.exit(), r.output());
    Map<String, String> values = new LinkedHashMap<>();
    for (String line : r.output().split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        values.put(line.substring(0, eq), line.substring(eq + 1).strip());
      }
    }
    return values;
  }

  @Test
  void pkcs11Tool_listsTheForwardedTokens_andTheModule() throws Exception {
    Run info = tool("--show-info");
    assertEquals(0, info.exit(), info.output());
    assertTrue(info.output().contains("kmsgw test module"), info.output());
    Run slots = tool("--list-token-slots");
    assertEquals(0, slots.exit(), slots.output());
    assertTrue(slots.output().contains(token.label()), slots.output());
  }

  @Test
  void pkcs11Tool_logsInWithUserColonPassword_andIsRefusedAPlainPin() throws Exception {
    module.set("pin=user:password");
    Run ok = tool("--token-label", token.label(), "--login", "--pin", "cu1:" + TestToken.USER_PIN, "--list-objects");
    assertEquals(0, ok.exit(), ok.output());
    assertEquals(List.of("login user=cu1 rv=CKR_OK"), module.events("login user="));
    Run plain = tool("--token-label", token.label(), "--login", "--pin", TestToken.USER_PIN, "--list-objects");
    assertNotEquals(0, plain.exit());
    assertTrue(plain.output().contains("CKR_PIN_INCORRECT"), plain.output());
  }

  @Test
  void pkcs11Tool_meetsTheSessionLimit() throws Exception {
    module.set("max_sessions=0");
    Run r = tool("--token-label", token.label(), "--list-objects");
    assertNotEquals(0, r.exit());
    assertTrue(r.output().contains("CKR_SESSION_COUNT"), r.output());
  }

  @Test
  void pkcs11Tool_meetsAnInjectedFault_onlyOnTheChosenCall() throws Exception {
    module.set("fail.C_GenerateRandom=CKR_DEVICE_ERROR");
    Run r = tool("--token-label", token.label(), "--generate-random", "16");
    assertNotEquals(0, r.exit(), r.output()); // pkcs11-tool says "Could not generate random bytes", without the code
    assertEquals(List.of("fail C_GenerateRandom rv=CKR_DEVICE_ERROR"), module.events("fail "));
    module.set("fail.C_GenerateRandom=CKR_DEVICE_ERROR from=2");
    assertEquals(0, tool("--token-label", token.label(), "--generate-random", "16").exit(), "the first call is served");
  }

  @Test
  void pkcs11Tool_doesNotSeeARemovedToken() throws Exception {
    module.set("token_removed=" + token.label());
    Run slots = tool("--list-token-slots");
    assertFalse(slots.output().contains(token.label()), slots.output());
    Run all = tool("--list-slots"); // every slot, present or not: the token's slot shows empty
    assertFalse(all.output().contains(token.label()), all.output());
  }

  @Test
  void gcmIvCheck_forwarding_usesTheCallersIv() throws Exception {
    Map<String, String> v = gcmIvCheck(TestToken.USER_PIN);
    assertEquals(ZERO_IV, v.get("iv_after_init"));
    assertEquals(ZERO_IV, v.get("iv_after_encrypt"));
    assertEquals("1", v.get("roundtrip"));
    assertEquals("0x5", v.get("tag_mismatch_rv"), "SoftHSM2's CKR_GENERAL_ERROR");
    assertEquals("0x0", v.get("big_encrypt_rv"));
    assertEquals("0x0", v.get("read_only_open_rv"));
  }

  @Test
  void gcmIvCheck_cloudHsm_writesItsIvIntoPivAtEncryptInit() throws Exception {
    module.set("vendor=cloudhsm");
    Map<String, String> v = gcmIvCheck("cu:" + TestToken.USER_PIN);
    assertNotEquals(ZERO_IV, v.get("iv_after_init"), v.toString());
    assertEquals(v.get("iv_after_init"), v.get("iv_after_encrypt"));
    List<String> written = module.events("gcm_iv written");
    assertEquals(3, written.size(), "one IV per C_EncryptInit (three encryptions): " + written);
    assertTrue(written.stream().allMatch(l -> l.startsWith("gcm_iv written at=C_EncryptInit ")), written.toString());
    assertTrue(written.get(0).endsWith("iv=" + v.get("iv_after_init")), written.toString());
    assertEquals("1", v.get("roundtrip"), "the IV in pIv opens the ciphertext");
    assertEquals("0x40", v.get("tag_mismatch_rv"), "CKR_ENCRYPTED_DATA_INVALID");
    assertEquals("0x21", v.get("big_encrypt_rv"), "CKR_DATA_LEN_RANGE above 16 KB");
    assertEquals("0x0", v.get("after_big_encrypt_rv"), "the refused operation was ended");
    assertEquals("0x6", v.get("read_only_open_rv"), "CKR_FUNCTION_FAILED");
  }

  @Test
  void gcmIvCheck_hsmWritingAtEncrypt_writesPivDuringCEncrypt() throws Exception {
    module.set("gcm_iv=hsm", "gcm_iv_write=encrypt");
    Map<String, String> v = gcmIvCheck(TestToken.USER_PIN);
    assertEquals(ZERO_IV, v.get("iv_after_init"), v.toString());
    assertNotEquals(ZERO_IV, v.get("iv_after_encrypt"));
    assertEquals("1", v.get("roundtrip"));
  }

  @Test
  void gcmIvCheck_lunaFips_appendsA16ByteIv() throws Exception {
    module.set("vendor=luna-fips");
    Map<String, String> v = gcmIvCheck(TestToken.USER_PIN);
    assertEquals(ZERO_IV, v.get("iv_after_init"));
    assertEquals(ZERO_IV, v.get("iv_after_encrypt"), "the caller's pIv is left alone");
    assertEquals(String.valueOf(18 + 16 + 16), v.get("ciphertext_len"));
    assertEquals(32, v.get("iv_appended").length());
    assertEquals("1", v.get("roundtrip"));
    assertEquals("0x40", v.get("tag_mismatch_rv"));
  }
}
