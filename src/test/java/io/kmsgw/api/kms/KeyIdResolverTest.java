package io.kmsgw.api.kms;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.kms.KmsSettings;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class KeyIdResolverTest {
  private static final UUID ID = UUID.fromString("1234abcd-12ab-34cd-56ef-1234567890ab");
  private static final KmsSettings SETTINGS = new KmsSettings("111122223333", "us-east-1");
  /** No aliases exist: an alias resolves to NotFoundException. */
  private final KeyIdResolver resolver = new KeyIdResolver(SETTINGS,
      new io.kmsgw.kms.AliasService(SETTINGS, null, null, null, null, null, java.time.Clock.systemUTC(), null));

  private void assertRefused(ErrorCode code, String keyId) {
    KmsException e = assertThrows(KmsException.class, () -> resolver.any(keyId));
    assertEquals(code, e.code(), keyId);
  }

  @Test
  void resolve_keyId_returnsIt() {
    assertEquals(ID, resolver.any(ID.toString()));
    assertEquals(ID, resolver.any(ID.toString().toUpperCase()));
  }

  @Test
  void resolve_keyArnOfThisAccountAndRegion_returnsTheId() {
    assertEquals(ID, resolver.any("arn:aws:kms:us-east-1:111122223333:key/" + ID));
  }

  @Test
  void resolve_keyArnOfAnotherRegionOrAccount_failsNotFound() {
    assertRefused(ErrorCode.NOT_FOUND, "arn:aws:kms:eu-west-1:111122223333:key/" + ID);
    assertRefused(ErrorCode.NOT_FOUND, "arn:aws:kms:us-east-1:999999999999:key/" + ID);
  }

  @Test
  void resolve_aliasNameOrAliasArn_failsNotFoundUntilAliasesExist() {
    assertRefused(ErrorCode.NOT_FOUND, "alias/my-key");
    assertRefused(ErrorCode.NOT_FOUND, "arn:aws:kms:us-east-1:111122223333:alias/my-key");
  }

  @Test
  void resolve_malformedArn_failsInvalidArn() {
    assertRefused(ErrorCode.INVALID_ARN, "arn:aws:kms:us-east-1");
    assertRefused(ErrorCode.INVALID_ARN, "arn:aws:s3:us-east-1:111122223333:key/" + ID);
    assertRefused(ErrorCode.INVALID_ARN, "arn:aws:kms:us-east-1:111122223333:key/not-a-uuid");
  }

  @Test
  void keyOnly_refusesAliasesWithNotFound() {
    KmsException e = assertThrows(KmsException.class, () -> resolver.keyOnly("alias/my-key"));
    assertEquals(ErrorCode.NOT_FOUND, e.code());
    assertEquals(ID, resolver.keyOnly(ID.toString()));
  }

  @Test
  void resolve_garbage_failsNotFound() {
    assertRefused(ErrorCode.NOT_FOUND, "not-a-key");
    assertRefused(ErrorCode.NOT_FOUND, "1-1-1-1-1");
  }
}
