package io.kmsgw.api.http;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class HostNamesTest {
  private final HostNames names = new HostNames(List.of("kms.example.com", "gw.example.com:8443", "[::1]",
      "127.0.0.1:8400"));

  @Test
  void aNameWithoutPort_matchesAnyPort_caseInsensitively() {
    assertTrue(names.accepts("kms.example.com"));
    assertTrue(names.accepts("KMS.Example.COM:443"));
    assertFalse(names.accepts("kms.example.com.evil.test"));
    assertFalse(names.accepts("evil.kms.example.com"));
  }

  @Test
  void aNameWithPort_matchesOnlyThatPort() {
    assertTrue(names.accepts("gw.example.com:8443"));
    assertFalse(names.accepts("gw.example.com"));
    assertFalse(names.accepts("gw.example.com:443"));
    assertTrue(names.accepts("127.0.0.1:8400"));
    assertFalse(names.accepts("127.0.0.1:8401"));
  }

  @Test
  void ipv6Addresses_inBrackets() {
    assertTrue(names.accepts("[::1]"));
    assertTrue(names.accepts("[::1]:8400"));
    assertFalse(names.accepts("[::2]:8400"));
  }

  @Test
  void noNames_acceptsAnyHost() {
    assertTrue(new HostNames(List.of()).accepts("anything.test:1"));
    assertFalse(new HostNames(List.of()).enabled());
  }
}
