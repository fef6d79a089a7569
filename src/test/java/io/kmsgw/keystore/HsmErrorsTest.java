package io.kmsgw.keystore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import org.junit.jupiter.api.Test;

/** What a client is told of an HSM's refusal: kmsgw's words, never the token's return code or an object label. */
class HsmErrorsTest {
  private static final String ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

  @Test
  void tokensUnsupportedReturnCode_isUnsupportedOperation_withoutTheCkrNameOrTheLabel() {
    // as CkrMapping makes it from C_Sign's CKR_MECHANISM_INVALID (0x70)
    HsmException refused = new HsmException(HsmErrorKind.UNSUPPORTED, 0x70, "CKR_MECHANISM_INVALID",
        "SIGN failed with key kmsgw:1234abcd-12ab-34cd-56ef-1234567890ab:v1", null);
    KmsException e = HsmErrors.toKms(refused, ARN);
    assertEquals(ErrorCode.UNSUPPORTED_OPERATION, e.code());
    assertFalse(e.getMessage().contains("CKR_"), e.getMessage());
    assertFalse(e.getMessage().contains("kmsgw:"), e.getMessage());
    assertFalse(e.getMessage().contains("SIGN failed"), e.getMessage());
    assertSame(refused, e.getCause(), "the detail stays in the cause, for the log");
  }

  @Test
  void kmsgwsOwnReason_reachesTheClient() {
    HsmException refused = new HsmException(HsmErrorKind.UNSUPPORTED, "RSA-OAEP with SHA-384 is not offered");
    KmsException e = HsmErrors.toKms(refused, ARN);
    assertEquals(ErrorCode.UNSUPPORTED_OPERATION, e.code());
    assertTrue(e.getMessage().contains("RSA-OAEP with SHA-384 is not offered"), e.getMessage());
  }
}
