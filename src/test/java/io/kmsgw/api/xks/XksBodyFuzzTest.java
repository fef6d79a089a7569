package io.kmsgw.api.xks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.kmsgw.format.CiphertextBlob;
import io.kmsgw.format.XksCiphertext;
import io.kmsgw.testing.Fuzzing;
import java.util.Map;

/**
 * XKS request bodies (GetHealthStatus, Encrypt, Decrypt) and the ciphertextMetadata format, as they are.
 * Must hold: a body is read or refused with an XksException only (ValidationException, InvalidCiphertextException,
 * UnsupportedOperationException), never another exception; the log-line reader never fails; a ciphertextMetadata
 * the gateway would accept names a version that writes back to the same metadata, and its framed AAD (format 2)
 * never begins like a KMS AAD (domain separation, issue #15 item 3).
 */
class XksBodyFuzzTest {
  @FuzzTest(maxDuration = Fuzzing.BUDGET)
  void bodiesAreReadOrRefused(byte[] body) {
    assertNotNull(XksRequest.healthMetadata(body));
    Map<String, Object> json;
    try {
      json = XksRequest.parse(body);
    } catch (XksException e) {
      assertEquals(XksErrorCode.VALIDATION, e.code());
      return;
    }
    try {
      XksRequest.health(json);
    } catch (XksException e) {
      assertNotNull(e.code());
    }
    try {
      XksRequest.encrypt(json);
    } catch (XksException e) {
      assertNotNull(e.code());
    }
    XksRequest.Decrypt d;
    try {
      d = XksRequest.decrypt(json);
    } catch (XksException e) {
      assertNotNull(e.code());
      return;
    }
    if (d.ciphertextMetadata() == null) {
      return;
    }
    int version;
    try {
      version = XksCiphertext.keyVersion(d.ciphertextMetadata());
    } catch (IllegalArgumentException e) {
      return; // the API answers InvalidCiphertextException
    }
    if (!XksCiphertext.legacy(d.ciphertextMetadata())) {
      assertArrayEquals(d.ciphertextMetadata(), XksCiphertext.metadata(version));
      byte[] aad = XksCiphertext.hsmAad(d.aad(), d.ciphertextMetadata());
      assertNotEquals(CiphertextBlob.VERSION_1, aad[0], "an XKS AAD that starts like a KMS AAD");
    }
  }
}
